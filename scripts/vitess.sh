# Vitess for scripts/test-vitess, sourced after services.sh: the build (once, cached) and a local
# sharded keyspace over MariaDB tablets.
VITESS_VERSION=v0.24.4
VITESS_HOME="${VITESS_HOME:-$HOME/.cache/im-vitess/$VITESS_VERSION}"
VITESS_BIN="$VITESS_HOME/bin"

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
