package interop_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	etcd "github.com/kitex-contrib/registry-etcd"

	"imkitex/internal/harness"
	"imkitex/kitex_gen/rpc"
	"imkitex/kitex_gen/rpc/imservice"
)

// The service name of the reference assignment's rpc-server, which this one can take.
const demoService = "demo.rpc.server"

// peers records which instance each call went to, as Kitex's load balancer chose it.
type peers struct {
	mu   sync.Mutex
	last string
}

func (p *peers) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp interface{}) error {
		err := next(ctx, req, resp)
		if to := rpcinfo.GetRPCInfo(ctx).To(); to != nil && to.Address() != nil {
			p.mu.Lock()
			p.last = to.Address().String()
			p.mu.Unlock()
		}
		return err
	}
}

// call sends one message and returns the replica that answered, or "" if the call failed.
func (p *peers) call(c imservice.Client, text string) string {
	resp, err := c.Send(context.Background(), &rpc.SendRequest{Message: &rpc.Message{Chat: "al:bob", Sender: "al", Text: text}})
	if err != nil || resp.Code != codeOK {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// rpc-server replicas registered as demo.rpc.server are found by registry-etcd's resolver, every
// one gets calls, and one whose lease is gone is no longer called.
func TestKitexResolverFindsTheReplicasAndDropsOneWhoseLeaseIsGone(t *testing.T) {
	harness.Require(t)
	registry := harness.StartEtcd(t)
	url := harness.FreshDatabaseURL(harness.MySQLURL())
	settings := map[string]string{"ETCD_ENDPOINTS": registry.Endpoint, "IM_RPC_SERVICE": demoService}
	a := harness.StartRPCServer(t, url, settings)
	b := harness.StartRPCServer(t, url, settings)
	prefix := harness.RegistryPrefix + "/" + demoService + "/"
	keyA, keyB := prefix+a.Addr, prefix+b.Addr
	harness.Eventually(t, "both replicas registered", 30*time.Second, func() bool {
		keys := registry.Keys(t, prefix)
		_, okA := keys[keyA]
		_, okB := keys[keyB]
		return okA && okB
	})

	resolver, err := etcd.NewEtcdResolver([]string{registry.Endpoint})
	if err != nil {
		t.Fatalf("registry-etcd resolver: %v", err)
	}
	var seen peers
	c, err := imservice.NewClient(demoService, client.WithResolver(resolver),
		client.WithRPCTimeout(time.Second), client.WithMiddleware(seen.middleware))
	if err != nil {
		t.Fatalf("kitex client: %v", err)
	}
	reached := map[string]bool{}
	harness.Eventually(t, "calls reach both replicas", 30*time.Second, func() bool {
		reached[seen.call(c, "spread")] = true
		return reached[a.Addr] && reached[b.Addr]
	})

	// Replica b stops (so it cannot register again) and its lease goes, as when it dies.
	b.Freeze()
	registry.RevokeLeaseOf(t, keyB)
	if _, listed := registry.Keys(t, prefix)[keyB]; listed {
		t.Fatalf("%s still listed after its lease was revoked", keyB)
	}
	// registry-etcd's resolver lists the prefix again every few seconds; until then calls to b
	// time out. Then every call goes to a.
	streak := 0
	harness.Eventually(t, "calls stop going to the replica whose lease is gone", 60*time.Second, func() bool {
		if seen.call(c, "after b left") == a.Addr {
			streak++
		} else {
			streak = 0
		}
		return streak >= 20
	})
	for i := 0; i < 30; i++ {
		if got := seen.call(c, "only a"); got != a.Addr {
			t.Fatalf("call %d went to %q after %s left the registry", i, got, b.Addr)
		}
	}
}
