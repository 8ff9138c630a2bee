// Package harness starts what the interop tests run against: private etcd processes, the
// project's rpc-server and http-server binaries on fresh databases, and a TCP proxy that can
// freeze a database connection. Each test sets up what it needs; everything is stopped when
// the test ends.
package harness

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Prerequisites are the database server and the binaries. Without them a test is skipped on a
// developer's machine and fails under CI=true, where a skip would hide that nothing ran.
func Require(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Getenv("IM_TEST_MYSQL_URL") == "" {
		missing = append(missing, "IM_TEST_MYSQL_URL (a MariaDB or MySQL server, e.g. mysql://root@127.0.0.1:13306; scripts/test sets it)")
	}
	for _, bin := range []string{RPCServerBinary(), HTTPServerBinary()} {
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, bin+" (cargo build --bins, or IM_RPC_SERVER_BIN / IM_HTTP_SERVER_BIN)")
		}
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		missing = append(missing, "the etcd binary (Debian: etcd-server)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the interop tests need " + strings.Join(missing, "; ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RPCServerBinary is the rpc-server to test: IM_RPC_SERVER_BIN, else the workspace's debug
// build.
func RPCServerBinary() string { return binary("IM_RPC_SERVER_BIN", "rpc-server") }

// HTTPServerBinary is the http-server to test: IM_HTTP_SERVER_BIN, else the workspace's debug
// build.
func HTTPServerBinary() string { return binary("IM_HTTP_SERVER_BIN", "http-server") }

func binary(env, name string) string {
	if path := os.Getenv(env); path != "" {
		abs, err := filepath.Abs(path)
		if err == nil {
			return abs
		}
		return path
	}
	// The tests run in interop/kitex; the workspace's target directory is two levels up.
	abs, err := filepath.Abs(filepath.Join("..", "..", "target", "debug", name))
	if err != nil {
		return name
	}
	return abs
}

// FreeAddr is a loopback address nothing listens on right now.
func FreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("bind an ephemeral port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Eventually polls condition until it holds, failing the test after limit. It waits for a fact
// (a key gone, a listener up), never measures speed.
func Eventually(t *testing.T, what string, limit time.Duration, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Listening reports whether addr accepts TCP connections.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
