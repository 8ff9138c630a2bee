# Shared helpers for scripts/run and scripts/test: install the system packages the stack needs
# and start private MariaDB / etcd instances with their own data dirs on loopback.
# Source this file; it defines functions only.

RUN_DIR="${RUN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.run}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages COMMAND:PACKAGE...: installs, in one apt-get run, the Debian package of each
# command that is missing.
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# mariadb_answers PORT: whether a MariaDB/MySQL takes root without a password on 127.0.0.1:PORT.
mariadb_answers() {
  mariadb --protocol=tcp -h127.0.0.1 -P"$1" -uroot -e 'SELECT 1' >/dev/null 2>&1
}

# mariadb_up PORT NAME [OPTION...]: a MariaDB on 127.0.0.1:PORT with its data under $RUN_DIR/NAME
# (mariadbd options after the defaults), root without a password over TCP. Reuses a server already
# answering on that port.
mariadb_up() {
  local port=$1 dir="$RUN_DIR/$2"
  shift 2
  mariadb_answers "$port" && return 0
  ensure_packages mariadbd:mariadb-server
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    log "initialising MariaDB data dir $dir/data"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  fi
  log "starting MariaDB on 127.0.0.1:$port"
  local mariadbd_bin
  mariadbd_bin=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  nohup "$mariadbd_bin" --no-defaults --datadir="$dir/data" --user="$(id -un)" \
    --bind-address=127.0.0.1 --port="$port" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
    --innodb-buffer-pool-size=1G --innodb-log-file-size=512M --max-connections=1000 "$@" \
    >/dev/null 2>&1 &
  local i
  for i in $(seq 1 60); do
    if mariadb --socket="$dir/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      mariadb --socket="$dir/mysqld.sock" -uroot -e "
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
      return 0
    fi
    sleep 0.5
  done
  log "MariaDB did not start; see $dir/error.log"
  tail -20 "$dir/error.log" >&2
  return 1
}

# etcd_up CLIENT_PORT PEER_PORT NAME: an etcd on 127.0.0.1 with its data under $RUN_DIR/NAME.
etcd_up() {
  local port=$1 peer=$2 dir="$RUN_DIR/$3"
  if ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$port" endpoint health >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$dir"
  log "starting etcd on 127.0.0.1:$port"
  nohup etcd --name "$3" --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$3=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
  local i
  for i in $(seq 1 40); do
    if ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$port" endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  log "etcd did not start; see $dir/etcd.log"
  tail -20 "$dir/etcd.log" >&2
  return 1
}

# pip_install PACKAGE...: installs Python packages for the tools here, with Debian's pip if the
# machine has no other (Debian's own Python refuses plain `pip install`, hence the fallback).
pip_install() {
  ensure_packages python3:python3
  python3 -m pip --version >/dev/null 2>&1 || ensure_packages pip3:python3-pip
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
  hash -r
}

# The Apache Thrift Python library, for the interoperability tests.
ensure_python_thrift() {
  if ! python3 -c 'import thrift' >/dev/null 2>&1; then
    log "installing the Python thrift library"
    pip_install thrift
  fi
}

STACK_PIDS=()

# stack_up: MariaDB (:3306) and etcd (:2379) where none answer, release builds of the servers,
# two rpc-server replicas (:8888, :8889; admin :9888, :9889) registered in etcd and the
# http-server (:8080); returns once the http-server is ready. Logs go to $RUN_DIR/logs.
stack_up() {
  ensure_packages mariadb:mariadb-client etcd:etcd-server etcdctl:etcd-client protoc:protobuf-compiler curl:curl
  mariadb_up 3306 mariadb
  etcd_up 2379 2380 etcd
  log "building the servers (release): the first build takes about 10 minutes on 2 cores, later runs start in seconds"
  cargo build --release --bins
  rpc_servers_up "${DATABASE_URL:-mysql://root@127.0.0.1:3306/im}" || return 1
  http_server_up
}

# rpc_servers_up DATABASE_URL: starts the two replicas (STACK_PIDS[0], [1]) on that database,
# stopping those started before, and waits until both are registered. A fresh stack takes its
# inbox versions from the database's clock (IM_INBOX_VERSIONS overrides it).
rpc_servers_up() {
  local logs="$RUN_DIR/logs" replica
  mkdir -p "$logs"
  for replica in 0 1; do
    if [ -n "${STACK_PIDS[$replica]:-}" ]; then
      kill -TERM "${STACK_PIDS[$replica]}" 2>/dev/null || true
      wait "${STACK_PIDS[$replica]}" 2>/dev/null || true
    fi
  done
  for replica in 0 1; do
    IM_RPC_LISTEN="127.0.0.1:888$((8 + replica))" IM_RPC_ADMIN_LISTEN="127.0.0.1:988$((8 + replica))" \
      ETCD_ENDPOINTS=http://127.0.0.1:2379 DATABASE_URL="$1" \
      IM_INBOX_VERSIONS="${IM_INBOX_VERSIONS:-clock}" target/release/rpc-server >>"$logs/rpc-server-$replica.log" 2>&1 &
    STACK_PIDS[replica]=$!
  done
  wait_registered 2
}

# http_server_up [NAME=VALUE...]: starts the http-server (STACK_PIDS[2]) with these settings on
# top of the stack's, and waits until it is ready; one started before is stopped first. The
# binary is $HTTP_SERVER_BIN, else the release build.
http_server_up() {
  local logs="$RUN_DIR/logs" _
  if [ ${#STACK_PIDS[@]} -gt 2 ]; then
    kill -TERM "${STACK_PIDS[2]}" 2>/dev/null || true
    wait "${STACK_PIDS[2]}" 2>/dev/null || true
  fi
  env IM_HTTP_LISTEN="${IM_HTTP_LISTEN:-0.0.0.0:8080}" ETCD_ENDPOINTS=http://127.0.0.1:2379 "$@" \
    "${HTTP_SERVER_BIN:-target/release/http-server}" >>"$logs/http-server.log" 2>&1 &
  STACK_PIDS[2]=$!
  for _ in $(seq 1 150); do
    curl -fs http://127.0.0.1:8080/readyz >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "the http-server did not become ready within 30 s; see $logs/http-server.log"
  return 1
}

# registered_replicas: the rpc-server keys in the local etcd, one a line.
registered_replicas() {
  ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 get --prefix --keys-only \
    kitex/registry-etcd/im.rpc/ 2>/dev/null | grep -v '^$'
}

# wait_registered COUNT: waits up to 60 s (a replica waits for the database before it registers)
# until COUNT rpc-servers are registered in etcd.
wait_registered() {
  local want=$1 _
  for _ in $(seq 1 300); do
    [ "$(registered_replicas | wc -l)" -ge "$want" ] && return 0
    sleep 0.2
  done
  log "only $(registered_replicas | wc -l) of $want rpc-servers registered in etcd within 60 s; see $RUN_DIR/logs/rpc-server-*.log"
  return 1
}

# stack_down: stops the servers stack_up started (gracefully); MariaDB and etcd keep running.
stack_down() {
  if [ ${#STACK_PIDS[@]} -gt 0 ]; then
    kill -TERM "${STACK_PIDS[@]}" 2>/dev/null || true
    wait "${STACK_PIDS[@]}" 2>/dev/null || true
  fi
  return 0
}
