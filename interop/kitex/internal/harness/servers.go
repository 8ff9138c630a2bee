package harness

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// RegistryPrefix is registry-etcd's default key prefix, which both servers use by default.
const RegistryPrefix = "kitex/registry-etcd"

// FreshDatabaseURL names a database that does not exist yet, unique to this test; the
// rpc-server creates it. scripts/test drops the im_test_ databases of earlier runs.
func FreshDatabaseURL(server string) string {
	return fmt.Sprintf("%s/im_test_kitex_%d_%d_%d", strings.TrimRight(server, "/"),
		os.Getpid(), next.Add(1), time.Now().UnixNano()%1_000_000)
}

var next atomic.Int64

// MySQLURL is the shared database server of the tests.
func MySQLURL() string { return os.Getenv("IM_TEST_MYSQL_URL") }

// RPCServer is an rpc-server process.
type RPCServer struct {
	*Process
	Addr, Admin string
}

// StartRPCServer starts an rpc-server on a free loopback port using databaseURL, with extra
// settings in env (by default it registers nowhere), and waits until it is ready.
func StartRPCServer(t *testing.T, databaseURL string, env map[string]string) *RPCServer {
	t.Helper()
	addr, admin := FreeAddr(t), FreeAddr(t)
	settings := map[string]string{
		"IM_RPC_LISTEN":       addr,
		"IM_RPC_ADMIN_LISTEN": admin,
		"DATABASE_URL":        databaseURL,
		"ETCD_ENDPOINTS":      "",
		"RUST_LOG":            "warn",
	}
	for k, v := range env {
		settings[k] = v
	}
	p := Start(t, "rpc-server", RPCServerBinary(), nil, settings)
	p.WaitListening(t, addr)
	Eventually(t, "rpc-server ready (database reachable)", 60*time.Second, func() bool {
		return httpStatus("http://"+admin+"/readyz") == http.StatusOK
	})
	return &RPCServer{Process: p, Addr: addr, Admin: admin}
}

// HTTPServer is an http-server process.
type HTTPServer struct {
	*Process
	Addr string
}

// StartHTTPServer starts an http-server on a free loopback port with the settings in env.
func StartHTTPServer(t *testing.T, env map[string]string) *HTTPServer {
	t.Helper()
	addr := FreeAddr(t)
	settings := map[string]string{"IM_HTTP_LISTEN": addr, "IM_RPC_ADDRS": "", "RUST_LOG": "warn"}
	for k, v := range env {
		settings[k] = v
	}
	p := Start(t, "http-server", HTTPServerBinary(), nil, settings)
	p.WaitListening(t, addr)
	return &HTTPServer{Process: p, Addr: addr}
}

// URL is the http-server's URL for path.
func (h *HTTPServer) URL(path string) string { return "http://" + h.Addr + path }

func httpStatus(url string) int {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
