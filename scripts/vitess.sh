# Vitess for scripts/test-vitess, sourced after services.sh: the build (once, cached) and a local
# sharded keyspace over MariaDB tablets.
VITESS_VERSION=v0.24.4
VITESS_HOME="${VITESS_HOME:-$HOME/.cache/im-vitess/$VITESS_VERSION}"
VITESS_BIN="$VITESS_HOME/bin"

# vitess_go: puts the Go toolchain that builds Vitess first on PATH (v0.24.4 asks for 1.26.8 or
# newer; GO names the toolchain, else `go` on PATH); fails where there is none, naming what it
# found in VITESS_GO_FOUND.
vitess_go() {
  local go_bin version
  go_bin="${GO:-$(command -v go || true)}"
  version="$({ [ -n "$go_bin" ] && "$go_bin" env GOVERSION; } 2>/dev/null || true)"
  VITESS_GO_FOUND="${version:-no Go toolchain}"
  [ -n "$version" ] && [ "$(printf 'go1.26.8\n%s\n' "$version" | sort -V | head -1)" = go1.26.8 ] ||
    return 1
  export PATH="$(dirname "$go_bin"):$PATH"
}

# vitess_build: the Vitess servers and tools from the Go module proxy, into $VITESS_BIN, unless
# they are there already (about 17 minutes on two cores).
vitess_build() {
  local cmd missing=0 module="$VITESS_HOME/module"
  for cmd in vtgate vttablet vtctld vtctldclient; do
    [ -x "$VITESS_BIN/$cmd" ] || missing=1
  done
  [ "$missing" = 0 ] && return 0
  log "building Vitess $VITESS_VERSION into $VITESS_BIN (once; about 17 minutes)"
  mkdir -p "$module" "$VITESS_BIN"
  cat >"$module/go.mod" <<GOMOD
module im/vitess-build

go 1.24

require vitess.io/vitess $VITESS_VERSION
GOMOD
  cat >"$module/tools.go" <<'GO'
//go:build tools

package tools

import _ "vitess.io/vitess/go/cmd/vtgate"
GO
  (cd "$module" && go mod tidy >/dev/null 2>&1 || true
   cd "$module" && GOFLAGS=-mod=mod go build -p 2 -o "$VITESS_BIN/" \
     vitess.io/vitess/go/cmd/vtgate vitess.io/vitess/go/cmd/vttablet \
     vitess.io/vitess/go/cmd/vtctld vitess.io/vitess/go/cmd/vtctldclient)
}

# Ports of the local keyspace: etcd (its topology), vtctld, vtgate (MySQL protocol), and per
# shard its MariaDB and vttablet.
VITESS_ETCD=2479
VITESS_ETCD_PEER=2480
VTCTLD_GRPC=15999
VTGATE_MYSQL=15306
VITESS_PIDS=()

# Vitess servers refuse to run as root.
vitess_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

vitess_topo() {
  printf '%s\n' --topo-implementation etcd2 \
    --topo-global-server-address "127.0.0.1:$VITESS_ETCD" --topo-global-root /vitess/global
}

vtctld_client() { timeout 60 "$VITESS_BIN/vtctldclient" --server "127.0.0.1:$VTCTLD_GRPC" "$@"; }

# vitess_spawn NAME COMMAND...: starts a Vitess server as an unprivileged user, logging to
# $RUN_DIR/vitess/NAME.log.
vitess_spawn() {
  local name=$1
  shift
  vitess_user "$@" >"$RUN_DIR/vitess/$name.log" 2>&1 &
  VITESS_PIDS+=($!)
}

# vitess_wait WHAT COMMAND...: waits up to 60 s until COMMAND succeeds.
vitess_wait() {
  local what=$1 _
  shift
  for _ in $(seq 1 120); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "$what did not come up; see $RUN_DIR/vitess/"
  return 1
}

# vitess_shard_up SHARD INDEX: the shard's MariaDB with the schema
# applied by the rpc-server's own migrations ($RPC_SERVER_BIN, else the debug build), and an
# unmanaged vttablet made its primary.
vitess_shard_up() {
  local shard=$1 i=$2 port=$((13400 + $2)) uid=$((100 + $2))
  vitess_mariadb_up "$i"
  # Unmanaged tablets need a password; one user serves every role of theirs.
  mariadb --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e "
    CREATE USER IF NOT EXISTS 'vitess'@'127.0.0.1' IDENTIFIED BY 'vitess';
    GRANT ALL PRIVILEGES ON *.* TO 'vitess'@'127.0.0.1' WITH GRANT OPTION;"
  DATABASE_URL="mysql://root@127.0.0.1:$port/im" IM_MIGRATE_ONLY=true \
    "${RPC_SERVER_BIN:-target/debug/rpc-server}" >"$RUN_DIR/vitess/migrate-$i.log" 2>&1
  vitess_spawn "vttablet-$i" "$VITESS_BIN/vttablet" $(vitess_topo) \
    --tablet-path "zone1-$(printf '%010d' "$uid")" --unmanaged \
    --db-host 127.0.0.1 --db-port "$port" --init-db-name-override im \
    $(for role in app dba allprivs filtered repl erepl appdebug; do printf -- '--db-%s-user vitess --db-%s-password vitess --db-%s-use-ssl=false ' "$role" "$role" "$role"; done) \
    --init-keyspace im --init-shard "$shard" --init-tablet-type replica \
    --queryserver-config-transaction-timeout 5s \
    --port $((15100 + i)) --grpc-port $((16100 + i)) \
    --service-map grpc-queryservice,grpc-tabletmanager,grpc-updatestream
  vitess_wait "vttablet $shard" vtctld_client GetTablet "zone1-$(printf '%010d' "$uid")"
  vitess_wait "vttablet $shard serving" curl -fs "http://127.0.0.1:$((15100 + i))/debug/status"
  vtctld_client TabletExternallyReparented "zone1-$(printf '%010d' "$uid")"
}

# vitess_up SHARDS...: a keyspace `im` over one MariaDB per shard (e.g. -80 80-), etcd as the
# topology, vtctld and vtgate (MySQL protocol on 127.0.0.1:$VTGATE_MYSQL, transactions
# limited to one shard), with the VSchema of docs/scaling.md.
vitess_up() {
  local i=0 shard
  vitess_wipe || return 1
  mkdir -p "$RUN_DIR/vitess"
  chmod 777 "$RUN_DIR/vitess"
  etcd_up "$VITESS_ETCD" "$VITESS_ETCD_PEER" vitess-etcd
  vitess_spawn vtctld "$VITESS_BIN/vtctld" $(vitess_topo) --cell zone1 \
    --service-map grpc-vtctl,grpc-vtctld --port 15000 --grpc-port "$VTCTLD_GRPC"
  vitess_wait vtctld vtctld_client GetCellInfoNames
  vtctld_client GetCellInfo zone1 >/dev/null 2>&1 ||
    vtctld_client AddCellInfo --root /vitess/zone1 --server-address "127.0.0.1:$VITESS_ETCD" zone1
  for shard in "$@"; do
    vitess_shard_up "$shard" "$i"
    i=$((i + 1))
  done
  vtctld_client ApplyVSchema --vschema-file deploy/vitess/vschema.json im >"$RUN_DIR/vitess/vschema.log"
  vitess_spawn vtgate "$VITESS_BIN/vtgate" $(vitess_topo) --cell zone1 --cells-to-watch zone1 \
    --tablet-types-to-wait PRIMARY --transaction-mode SINGLE \
    --tablet-refresh-interval 1s --enable-buffer \
    --mysql-server-port "$VTGATE_MYSQL" --mysql-server-bind-address 127.0.0.1 \
    --mysql-auth-server-impl none --port 15001 --grpc-port 15991 \
    --service-map grpc-vtgateservice
  vitess_wait vtgate mariadb --protocol=tcp -h127.0.0.1 -P"$VTGATE_MYSQL" -uroot im -e 'SELECT COUNT(*) FROM rooms'
}

# vitess_down: stops every Vitess server, those a reshard started in another shell too.
vitess_down() {
  pkill -TERM -f "^$VITESS_BIN/" 2>/dev/null || true
  if [ ${#VITESS_PIDS[@]} -gt 0 ]; then
    wait "${VITESS_PIDS[@]}" 2>/dev/null || true
  fi
  VITESS_PIDS=()
}

# vitess_shard_restart INDEX: kills the shard's MariaDB (SIGKILL) and starts it again.
vitess_shard_restart() {
  local i=$1 dir="$RUN_DIR/vitess-mariadb-$1"
  kill -KILL "$(cat "$dir/mysqld.pid")"
  while mariadb_answers $((13400 + i)); do sleep 0.1; done
  log "killed the MariaDB of shard $i; starting it again"
  vitess_mariadb_up "$i"
}

# vitess_mariadb_up INDEX: the MariaDB of shard INDEX: binary log in rows, with GTIDs.
vitess_mariadb_up() {
  mariadb_up $((13400 + $1)) "vitess-mariadb-$1" --server-id=$((100 + $1)) --log-bin=binlog \
    --binlog-format=ROW --gtid-strict-mode=1 --log-slave-updates=1
}

# vitess_reshard: splits the keyspace's shards -80 and 80- into four with Vitess's Reshard
# workflow while the service runs: four more shards (each a database migrated like the others
# and a tablet), their rows copied from the old shards and kept in step, reads and writes
# switched to them, and the workflow completed (the old shards then serve nothing).
vitess_reshard() {
  local i=2 shard workflow=(Reshard --workflow split --target-keyspace im)
  for shard in -40 40-80 80-c0 c0-; do
    vitess_shard_up "$shard" "$i" || return 1
    i=$((i + 1))
  done
  log "Reshard: -80,80- into -40,40-80,80-c0,c0-"
  # A tablet just made primary opens its replication engine a moment later.
  vitess_wait "Reshard create" vtctld_client "${workflow[@]}" create --source-shards=-80,80- \
    --target-shards=-40,40-80,80-c0,c0- --skip-schema-copy || return 1
  vitess_wait "the copy" vitess_reshard_caught_up || return 1
  log "Reshard: switching traffic"
  vtctld_client "${workflow[@]}" switchtraffic >"$RUN_DIR/vitess/reshard.log" || return 1
  vtctld_client "${workflow[@]}" complete >>"$RUN_DIR/vitess/reshard.log" || return 1
  log "Reshard: complete"
}

# vitess_reshard_caught_up: whether every stream of the workflow copied its tables and runs.
vitess_reshard_caught_up() {
  vtctld_client Reshard --workflow split --target-keyspace im show --format json |
    python3 -c '
import json, sys
streams = [s for w in json.load(sys.stdin)["workflows"]
           for shard in w["shard_streams"].values() for s in shard["streams"]]
sys.exit(0 if streams and all(s["state"] == "Running" for s in streams) else 1)'
}

# vitess_wipe: stops what an earlier run left (of this checkout or another) and removes its
# data: each run starts from an empty keyspace of two shards.
vitess_wipe() {
  local i _
  pkill -KILL -f "^$VITESS_BIN/" 2>/dev/null || true
  pkill -KILL -f -- "--name vitess-etcd " 2>/dev/null || true
  pkill -KILL -f -- "--datadir=[^ ]*/vitess-mariadb-[0-9]+/data" 2>/dev/null || true
  for i in 0 1 2 3 4 5; do
    for _ in $(seq 1 100); do
      mariadb_answers $((13400 + i)) || break
      sleep 0.1
    done
    if mariadb_answers $((13400 + i)); then
      log "another MariaDB holds 127.0.0.1:$((13400 + i)), which a shard needs"
      return 1
    fi
  done
  rm -rf "$RUN_DIR"/vitess-mariadb-* "$RUN_DIR/vitess-etcd" "$RUN_DIR/vitess"
}