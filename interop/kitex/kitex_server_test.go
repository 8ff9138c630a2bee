package interop_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"
	etcd "github.com/kitex-contrib/registry-etcd"

	"imkitex/imserver"
	"imkitex/internal/harness"
	"imkitex/kitex_gen/rpc"
	"imkitex/kitex_gen/rpc/imservice"
)

// startKitexServer runs the in-memory Kitex IMService on all interfaces, registered as service
// by registry-etcd with its defaults, and returns it with the key registry-etcd wrote.
func startKitexServer(t *testing.T, registry *harness.Etcd, service string) (*imserver.Server, string, string) {
	t.Helper()
	_, port, _ := net.SplitHostPort(harness.FreeAddr(t))
	addr, err := net.ResolveTCPAddr("tcp", ":"+port)
	if err != nil {
		t.Fatal(err)
	}
	r, err := etcd.NewEtcdRegistry([]string{registry.Endpoint})
	if err != nil {
		t.Fatalf("registry-etcd: %v", err)
	}
	handler := imserver.New()
	svr := imservice.NewServer(handler, server.WithServiceAddr(addr), server.WithRegistry(r),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: service}))
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Run() }()
	t.Cleanup(func() {
		_ = svr.Stop()
		<-stopped
	})
	prefix := harness.RegistryPrefix + "/" + service + "/"
	var key, value string
	harness.Eventually(t, "registry-etcd registered the Kitex server", 30*time.Second, func() bool {
		select {
		case err := <-stopped:
			t.Fatalf("the Kitex server stopped: %v", err)
		default:
		}
		for k, v := range registry.Keys(t, prefix) {
			key, value = k, v
			return true
		}
		return false
	})
	return handler, key, value
}

// A Kitex server registered by registry-etcd with its defaults (its own address choice, weight
// 10, tags null) is found by this project's http-server and serves its requests.
func TestHTTPServerCallsAKitexServerRegisteredByRegistryEtcd(t *testing.T) {
	harness.Require(t)
	registry := harness.StartEtcd(t)
	kitex, key, value := startKitexServer(t, registry, "im.kitex")

	var info struct {
		Network string             `json:"network"`
		Address string             `json:"address"`
		Weight  int                `json:"weight"`
		Tags    *map[string]string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(value), &info); err != nil {
		t.Fatalf("%s = %s: %v", key, value, err)
	}
	host, _, err := net.SplitHostPort(info.Address)
	if err != nil || info.Network != "tcp" || info.Weight != 10 || info.Tags != nil || !strings.HasSuffix(key, "/"+info.Address) {
		t.Fatalf("registry-etcd wrote %s = %s; expected its defaults (tcp, weight 10, tags null)", key, value)
	}
	// Listening on all interfaces, registry-etcd registers this host's first non-loopback IPv4.
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		t.Fatalf("registry-etcd registered %q", info.Address)
	}

	api := harness.StartHTTPServer(t, map[string]string{"ETCD_ENDPOINTS": registry.Endpoint, "IM_RPC_SERVICE": "im.kitex"})
	checkHTTPThroughKitex(t, api, kitex)
}

// registry-etcd registers what KITEX_IP_TO_REGISTRY says as it is, a host name included (a
// compose service name, say); the http-server resolves it.
func TestHTTPServerCallsAKitexServerRegisteredUnderAHostName(t *testing.T) {
	harness.Require(t)
	t.Setenv("KITEX_IP_TO_REGISTRY", "localhost")
	registry := harness.StartEtcd(t)
	kitex, key, _ := startKitexServer(t, registry, "im.kitex")
	if !strings.Contains(key, "/localhost:") {
		t.Fatalf("registry-etcd wrote %s; expected the host name", key)
	}
	api := harness.StartHTTPServer(t, map[string]string{"ETCD_ENDPOINTS": registry.Endpoint, "IM_RPC_SERVICE": "im.kitex"})
	checkHTTPThroughKitex(t, api, kitex)
}

func checkHTTPThroughKitex(t *testing.T, api *harness.HTTPServer, kitex *imserver.Server) {
	t.Helper()
	var sent struct {
		Message struct {
			Chat     string `json:"chat"`
			Text     string `json:"text"`
			Sender   string `json:"sender"`
			SendTime int64  `json:"send_time"`
		} `json:"message"`
	}
	harness.Eventually(t, "a send through the http-server succeeds", 30*time.Second, func() bool {
		status, body := httpJSON(t, http.MethodPost, api.URL("/api/send"), `{"chat":"bob:al","sender":"al","text":"via kitex"}`)
		if status != http.StatusOK {
			return false
		}
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatalf("send answered %s: %v", body, err)
		}
		return true
	})
	if m := sent.Message; m.Chat != "al:bob" || m.Text != "via kitex" || m.Sender != "al" || m.SendTime <= 0 {
		t.Fatalf("send answered %+v", m)
	}

	// With wait_ms, as a long poll: the Kitex server does not know AwaitPulls, so the
	// http-server makes the call alone (its page is not empty: it is answered at once).
	status, body := httpJSON(t, http.MethodGet, api.URL("/api/pull?chat=al:bob&wait_ms=20000"), "")
	var page struct {
		Messages []struct {
			Text     string `json:"text"`
			SendTime int64  `json:"send_time"`
		} `json:"messages"`
		HasMore    bool  `json:"has_more"`
		NextCursor int64 `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &page); status != http.StatusOK || err != nil {
		t.Fatalf("pull: %d %s", status, body)
	}
	if len(page.Messages) != 1 || page.Messages[0].Text != "via kitex" || page.Messages[0].SendTime != sent.Message.SendTime ||
		page.HasMore || page.NextCursor != sent.Message.SendTime+1 {
		t.Fatalf("pull answered %s", body)
	}

	status, body = httpJSON(t, http.MethodGet, api.URL("/api/chats?member=al&wait_ms=20000"), "")
	var inbox struct {
		Chats []struct {
			Chat        string `json:"chat"`
			Version     int64  `json:"version"`
			LastMessage struct {
				Text string `json:"text"`
			} `json:"last_message"`
		} `json:"chats"`
	}
	if err := json.Unmarshal(body, &inbox); status != http.StatusOK || err != nil {
		t.Fatalf("chats: %d %s", status, body)
	}
	if len(inbox.Chats) != 1 || inbox.Chats[0].Chat != "al:bob" || inbox.Chats[0].Version < 1 || inbox.Chats[0].LastMessage.Text != "via kitex" {
		t.Fatalf("chats answered %s", body)
	}
	if calls := kitex.Calls(); calls < 3 {
		t.Fatalf("the Kitex server answered %d calls; the http-server called something else", calls)
	}
}

func httpJSON(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(fmt.Sprint(err))
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// A Kitex server and a Rust replica registered under one name serve side by side: the
// http-server spreads rooms over both, and each room's calls stay with one of them, so every
// room reads back what was sent to it.
func TestHTTPServerSpreadsRoomsOverAKitexServerAndARustReplica(t *testing.T) {
	harness.Require(t)
	registry := harness.StartEtcd(t)
	kitex, _, _ := startKitexServer(t, registry, "im.mixed")
	rust := harness.StartRPCServer(t, harness.FreshDatabaseURL(harness.MySQLURL()),
		map[string]string{"ETCD_ENDPOINTS": registry.Endpoint, "IM_RPC_SERVICE": "im.mixed"})
	harness.Eventually(t, "both registered", 30*time.Second, func() bool {
		return len(registry.Keys(t, harness.RegistryPrefix+"/im.mixed/")) == 2
	})
	api := harness.StartHTTPServer(t, map[string]string{"ETCD_ENDPOINTS": registry.Endpoint, "IM_RPC_SERVICE": "im.mixed"})
	direct := newClient(t, rust.Addr)

	rooms, onRust := 0, 0
	harness.Eventually(t, "rooms land on both servers", 60*time.Second, func() bool {
		chat := fmt.Sprintf("al:room%d", rooms)
		status, body := httpJSON(t, http.MethodPost, api.URL("/api/send"), fmt.Sprintf(`{"chat":%q,"sender":"al","text":%q}`, chat, chat))
		if status != http.StatusOK {
			t.Fatalf("send to %s: %d %s", chat, status, body)
		}
		rooms++
		if len(pull(t, direct, &rpc.PullRequest{Chat: chat}).Messages) == 1 {
			onRust++
		}
		return onRust > 0 && kitex.Calls() > 0
	})
	for i := 0; i < rooms; i++ {
		chat := fmt.Sprintf("al:room%d", i)
		status, body := httpJSON(t, http.MethodGet, api.URL("/api/pull?chat="+chat), "")
		if status != http.StatusOK || !strings.Contains(string(body), `"text":"`+chat+`"`) || strings.Count(string(body), `"send_time"`) != 1 {
			t.Fatalf("pull of %s (sent through the http-server): %d %s", chat, status, body)
		}
	}
}
