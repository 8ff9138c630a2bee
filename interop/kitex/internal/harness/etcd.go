package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Etcd is a private etcd on loopback ports with a data dir of the test's own.
type Etcd struct {
	Endpoint string
	Client   *clientv3.Client
}

// StartEtcd starts an etcd and returns once it answers.
func StartEtcd(t *testing.T) *Etcd {
	t.Helper()
	client, peer := "http://"+FreeAddr(t), "http://"+FreeAddr(t)
	proc := Start(t, "etcd", "etcd", []string{
		"--name", "im-test", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "im-test=" + peer,
		"--logger", "zap", "--log-level", "error",
	}, nil)
	proc.WaitListening(t, client[len("http://"):])
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &Etcd{Endpoint: client, Client: c}
}

// Keys returns the instance keys and values under prefix.
func (e *Etcd) Keys(t *testing.T, prefix string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.Client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("etcd get %s: %v", prefix, err)
	}
	keys := map[string]string{}
	for _, kv := range resp.Kvs {
		keys[string(kv.Key)] = string(kv.Value)
	}
	return keys
}

// RevokeLeaseOf revokes the lease that holds key, as its expiry would.
func (e *Etcd) RevokeLeaseOf(t *testing.T, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.Client.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd get %s: %v (%d keys)", key, err, len(resp.Kvs))
	}
	lease := clientv3.LeaseID(resp.Kvs[0].Lease)
	if lease == clientv3.NoLease {
		t.Fatalf("%s has no lease", key)
	}
	if _, err := e.Client.Revoke(ctx, lease); err != nil {
		t.Fatalf("revoke lease %s of %s: %v", fmt.Sprintf("%x", int64(lease)), key, err)
	}
}
