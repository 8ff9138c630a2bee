#!/bin/bash
# Starts a Galera node of the compose profile `galera` through the image's own entrypoint.
# GALERA_BOOTSTRAP=if-new (galera-1): bootstrap a new cluster on the node's very first start
# only; every later start joins the running cluster, so a galera-1 that crashed rejoins instead
# of refusing to start (or starting a second cluster). GALERA_BOOTSTRAP=yes: bootstrap from this
# node's data, after the whole cluster was stopped (docs/galera.md). Anything else: join.
set -euo pipefail
case "${GALERA_BOOTSTRAP:-no}" in
  yes) set -- "$@" --wsrep-new-cluster ;;
  if-new) [ -d /var/lib/mysql/mysql ] || set -- "$@" --wsrep-new-cluster ;;
esac
exec docker-entrypoint.sh mariadbd "$@"
