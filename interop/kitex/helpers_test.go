package interop_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/transport"

	"imkitex/kitex_gen/rpc"
	"imkitex/kitex_gen/rpc/imservice"
)

// The error codes of the contract (README, Errors).
const (
	codeOK              = 0
	codeInvalidArgument = 1
	codeUnavailable     = 2
	codeInternal        = 3
	codeIDConflict      = 9
)

// transportCase is one way a Kitex client puts its calls on the wire, and the first bytes such
// a call starts with, which the tests check so that an option that stopped taking effect
// cannot pass for the transport it names.
type transportCase struct {
	name    string
	opts    []client.Option
	opening func([]byte) bool
}

// A binary-protocol message begins 0x80 0x01 (strict version 1).
func isBinary(b []byte) bool { return len(b) >= 2 && b[0] == 0x80 && b[1] == 0x01 }

// A frame is a 4-byte length, then the binary message.
func isFramed(b []byte) bool { return len(b) >= 6 && isBinary(b[4:]) }

// A TTHeader is a 4-byte length, the magic 0x10 0x00, flags (2), sequence number (4), the
// header's size in 4-byte words (2), the header, then the payload.
func ttheaderPayload(b []byte) []byte {
	if len(b) < 14 || b[4] != 0x10 || b[5] != 0x00 {
		return nil
	}
	start := 14 + 4*(int(b[12])<<8|int(b[13]))
	if start > len(b) {
		return nil
	}
	return b[start:]
}

func isTTHeader(b []byte) bool { return isBinary(ttheaderPayload(b)) }

func isTTHeaderFramed(b []byte) bool { return isFramed(ttheaderPayload(b)) }

// Every transport a Kitex client offers for Thrift here (compact is not supported by Kitex).
var transports = []transportCase{
	// Since Kitex v0.13 a client without options sends framed binary.
	{"default", nil, isFramed},
	{"buffered", []client.Option{client.WithTransportProtocol(transport.PurePayload)}, isBinary},
	{"framed", []client.Option{client.WithTransportProtocol(transport.Framed)}, isFramed},
	// WithTransportProtocol adds bits to the default (framed since v0.13), so TTHeader with an
	// unframed payload takes clearing them first with PurePayload.
	{"ttheader", []client.Option{
		client.WithTransportProtocol(transport.PurePayload),
		client.WithTransportProtocol(transport.TTHeader),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
	}, isTTHeader},
	{"ttheader-option-alone", []client.Option{
		client.WithTransportProtocol(transport.TTHeader),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
	}, isTTHeaderFramed},
	{"ttheader-framed", []client.Option{
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
	}, isTTHeaderFramed},
}

// newClient is a Kitex IMService client calling addr directly.
func newClient(t *testing.T, addr string, opts ...client.Option) imservice.Client {
	t.Helper()
	opts = append([]client.Option{client.WithHostPorts(addr), client.WithRPCTimeout(20 * time.Second)}, opts...)
	c, err := imservice.NewClient("im.rpc", opts...)
	if err != nil {
		t.Fatalf("kitex client: %v", err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func send(t *testing.T, c imservice.Client, chat, sender, text string, id *string) *rpc.SendResponse {
	t.Helper()
	resp, err := c.Send(ctx(t), &rpc.SendRequest{Message: &rpc.Message{Chat: chat, Sender: sender, Text: text, ClientMsgId: id}})
	if err != nil {
		t.Fatalf("Send(%q, %q, %q) failed in transport: %v", chat, sender, text, err)
	}
	return resp
}

func sendOK(t *testing.T, c imservice.Client, chat, sender, text string, id *string) *rpc.Message {
	t.Helper()
	resp := send(t, c, chat, sender, text, id)
	if resp.Code != codeOK || resp.Stored == nil {
		t.Fatalf("Send(%q, %q, %q) = code %d %q, stored %v", chat, sender, text, resp.Code, resp.Msg, resp.Stored)
	}
	return resp.Stored
}

func pull(t *testing.T, c imservice.Client, req *rpc.PullRequest) *rpc.PullResponse {
	t.Helper()
	resp, err := c.Pull(ctx(t), req)
	if err != nil {
		t.Fatalf("Pull(%+v) failed in transport: %v", req, err)
	}
	return resp
}

func chats(t *testing.T, c imservice.Client, req *rpc.ChatsRequest) *rpc.ChatsResponse {
	t.Helper()
	resp, err := c.Chats(ctx(t), req)
	if err != nil {
		t.Fatalf("Chats(%+v) failed in transport: %v", req, err)
	}
	return resp
}

func markRead(t *testing.T, c imservice.Client, chat, member string, readUpTo int64) *rpc.MarkReadResponse {
	t.Helper()
	req := &rpc.MarkReadRequest{Chat: chat, Member: member, ReadUpTo: readUpTo}
	resp, err := c.MarkRead(ctx(t), req)
	if err != nil {
		t.Fatalf("MarkRead(%+v) failed in transport: %v", req, err)
	}
	return resp
}

// sameMessage compares every field, the optional ClientMsgId included.
func sameMessage(t *testing.T, what string, got, want *rpc.Message) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if got.Chat != want.Chat || got.Text != want.Text || got.Sender != want.Sender || got.SendTime != want.SendTime {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
	if (got.ClientMsgId == nil) != (want.ClientMsgId == nil) ||
		(got.ClientMsgId != nil && *got.ClientMsgId != *want.ClientMsgId) {
		t.Fatalf("%s: ClientMsgId %v, want %v", what, strPtr(got.ClientMsgId), strPtr(want.ClientMsgId))
	}
}

// readableError checks an answer's code, and that its Msg says in words what was wrong.
func readableError(t *testing.T, what string, code int32, msg string, wantCode int32, mentions string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s: code %d (%q), want %d", what, code, msg, wantCode)
	}
	if !utf8.ValidString(msg) || len(strings.Fields(msg)) < 2 || !strings.Contains(strings.ToLower(msg), mentions) {
		t.Fatalf("%s: Msg %q does not say what is wrong (want a sentence mentioning %q)", what, msg, mentions)
	}
}

func strPtr(p *string) string {
	if p == nil {
		return "<unset>"
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
