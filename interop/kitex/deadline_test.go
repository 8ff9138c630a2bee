package interop_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/client/callopt"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/transport"

	"imkitex/internal/harness"
	"imkitex/kitex_gen/rpc"
)

// A Kitex caller's RPC timeout travels in the TTHeader (with the TTHeader meta handler) and
// bounds the call: when the database hangs, the rpc-server answers "unavailable" (code 2) while
// the caller still listens, although its own database deadline is far longer.
func TestKitexTimeoutInTTHeaderBoundsACallToAFrozenDatabase(t *testing.T) {
	harness.Require(t)
	// The rpc-server reaches the database through a proxy that can freeze, so that only its
	// connections hang and the shared database keeps serving the other tests.
	server, err := url.Parse(harness.MySQLURL())
	if err != nil {
		t.Fatalf("IM_TEST_MYSQL_URL: %v", err)
	}
	db := harness.StartProxy(t, server.Host)
	behindProxy := *server
	behindProxy.Host = db.Addr
	rpcServer := harness.StartRPCServer(t, harness.FreshDatabaseURL(behindProxy.String()),
		map[string]string{"IM_DB_DEADLINE_MS": "60000"})

	const timeout = 2 * time.Second
	withDeadline := newClient(t, rpcServer.Addr,
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithRPCTimeout(timeout))
	sendOK(t, withDeadline, "al:bob", "al", "before the freeze", nil)

	db.Freeze()
	defer db.Thaw()
	started := time.Now()
	resp, err := withDeadline.Send(ctx(t), &rpc.SendRequest{Message: &rpc.Message{Chat: "al:bob", Sender: "al", Text: "while frozen", ClientMsgId: ptr("frozen-1")}})
	if err != nil {
		t.Fatalf("a send to a frozen database was not answered within the caller's %v: %v", timeout, err)
	}
	readableError(t, "a send to a frozen database", resp.Code, resp.Msg, codeUnavailable, "unavailable")
	if elapsed := time.Since(started); elapsed >= timeout {
		t.Fatalf("answered after %v, past the caller's timeout of %v", elapsed, timeout)
	}
	page, err := withDeadline.Pull(ctx(t), &rpc.PullRequest{Chat: "al:bob"})
	if err != nil {
		t.Fatalf("a pull from a frozen database was not answered within the caller's %v: %v", timeout, err)
	}
	readableError(t, "a pull from a frozen database", page.Code, page.Msg, codeUnavailable, "unavailable")

	// Without the meta handler the timeout stays in the caller: the server waits for its own
	// deadline, and the caller gives up with a timeout of its own, which is what the header
	// spares it.
	silent := newClient(t, rpcServer.Addr, client.WithTransportProtocol(transport.TTHeaderFramed))
	_, err = silent.Pull(ctx(t), &rpc.PullRequest{Chat: "al:bob"}, callopt.WithRPCTimeout(timeout))
	if err == nil || !errors.Is(err, kerrors.ErrRPCTimeout) {
		t.Fatalf("without the TTHeader timeout, a pull from a frozen database gave %v; want the caller's own timeout", err)
	}

	// The send answered "unavailable" carried an id, so resending it is safe however far its
	// commit got: once the database is back it is stored exactly once.
	db.Thaw()
	harness.Eventually(t, "the resend succeeds once the database is back", 30*time.Second, func() bool {
		return send(t, withDeadline, "al:bob", "al", "while frozen", ptr("frozen-1")).Code == codeOK
	})
	texts := []string{}
	for _, m := range pull(t, withDeadline, &rpc.PullRequest{Chat: "al:bob"}).Messages {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "before the freeze|while frozen" {
		t.Fatalf("stored %q, want the resent message once", texts)
	}
}

// A waiting pull whose caller's TTHeader timeout is shorter than its WaitMs is answered with the
// timeout answer (no messages, the request's cursor) before that timeout, not cut off by it.
func TestKitexTimeoutInTTHeaderEndsAWaitingPullInTime(t *testing.T) {
	harness.Require(t)
	rpcServer := harness.StartRPCServer(t, harness.FreshDatabaseURL(harness.MySQLURL()), nil)
	const timeout = 300 * time.Millisecond
	withDeadline := newClient(t, rpcServer.Addr,
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithRPCTimeout(timeout))
	page, err := withDeadline.Pull(ctx(t), &rpc.PullRequest{Chat: "al:bob", Cursor: 42, WaitMs: ptr(int32(5000))})
	if err != nil {
		t.Fatalf("a waiting pull was not answered within the caller's %v: %v", timeout, err)
	}
	if page.Code != codeOK || len(page.Messages) != 0 || page.GetNextCursor() != 42 {
		t.Fatalf("got code %d, %d messages, next_cursor %d; want the timeout answer", page.Code, len(page.Messages), page.GetNextCursor())
	}
}
