package interop_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"imkitex/internal/harness"
	"imkitex/kitex_gen/rpc"
	"imkitex/kitex_gen/rpc/imservice"
)

// Every method of a real rpc-server, called by Kitex over every transport Kitex offers, with
// the answers checked field by field.
func TestKitexCallsEveryMethodOverEveryTransport(t *testing.T) {
	harness.Require(t)
	server := harness.StartRPCServer(t, harness.FreshDatabaseURL(harness.MySQLURL()), nil)
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			// Through a proxy that records what the client put on the wire.
			wire := harness.StartProxy(t, server.Addr)
			c := newClient(t, wire.Addr, tc.opts...)
			tag := strings.ReplaceAll(tc.name, "-", "")
			t.Run("Send", func(t *testing.T) { checkSend(t, c, tag) })
			t.Run("Pull", func(t *testing.T) { checkPull(t, c, tag) })
			t.Run("Chats", func(t *testing.T) { checkChats(t, c, tag) })
			openings := wire.Openings()
			if len(openings) == 0 {
				t.Fatal("no connection went through the proxy")
			}
			for _, b := range openings {
				if !tc.opening(b) {
					t.Fatalf("a %s client sent % x", tc.name, b)
				}
			}
		})
	}
}

func checkSend(t *testing.T, c imservice.Client, tag string) {
	al, bob := "al"+tag, "bob"+tag
	chat, room := bob+":"+al, al+":"+bob
	text := "héllo 👋 \"quoted\" \\ 你好 مرحبا"

	stored := sendOK(t, c, chat, al, text, nil)
	sameMessage(t, "the stored message", stored, &rpc.Message{Chat: room, Text: text, Sender: al, SendTime: stored.SendTime})
	if stored.SendTime <= 0 {
		t.Fatalf("SendTime %d, want microseconds since the epoch", stored.SendTime)
	}
	if now := time.Now().UnixMicro(); stored.SendTime < now-3_600_000_000 || stored.SendTime > now+3_600_000_000 {
		t.Fatalf("SendTime %d is not microseconds near now (%d)", stored.SendTime, now)
	}

	// A client_msg_id makes a resend safe: the second answer is the first message.
	id := "kitex-" + tag
	first := send(t, c, chat, bob, "once", &id)
	if first.Code != codeOK || first.Duplicate == nil || *first.Duplicate {
		t.Fatalf("first send with an id: code %d %q, Duplicate %v", first.Code, first.Msg, first.Duplicate)
	}
	sameMessage(t, "the stored message with an id", first.Stored, &rpc.Message{Chat: room, Text: "once", Sender: bob, SendTime: first.Stored.SendTime, ClientMsgId: &id})
	if first.Stored.SendTime <= stored.SendTime {
		t.Fatalf("SendTime %d after %d: not increasing", first.Stored.SendTime, stored.SendTime)
	}
	again := send(t, c, chat, bob, "once", &id)
	if again.Code != codeOK || again.Duplicate == nil || !*again.Duplicate {
		t.Fatalf("resend with an id: code %d %q, Duplicate %v", again.Code, again.Msg, again.Duplicate)
	}
	sameMessage(t, "the resend's answer", again.Stored, first.Stored)
	conflict := send(t, c, chat, bob, "another text", &id)
	readableError(t, "the same id with another text", conflict.Code, conflict.Msg, codeIDConflict, "client_msg_id")

	for _, bad := range []struct {
		what, chat, sender, text, mentions string
	}{
		{"a chat without ':'", al + bob, al, "hi", "chat"},
		{"a chat with an empty member", al + ":", al, "hi", "chat"},
		{"a sender outside the chat", chat, "eve" + tag, "hi", "sender"},
		{"a text of whitespace", chat, al, " \t\n ", "text"},
		{"an empty text", chat, al, "", "text"},
		{"a text over 4096 characters", chat, al, strings.Repeat("é", 4097), "text"},
		// Go strings are bytes; Kitex sends them as they are.
		{"a chat that is not UTF-8", "\xff" + chat, al, "hi", "utf-8"},
		{"a text that is not UTF-8", chat, al, "bad \xc3\x28 byte", "utf-8"},
	} {
		resp := send(t, c, bad.chat, bad.sender, bad.text, nil)
		readableError(t, bad.what, resp.Code, resp.Msg, codeInvalidArgument, bad.mentions)
		if resp.Stored != nil {
			t.Fatalf("%s: a refused send answered a stored message %+v", bad.what, resp.Stored)
		}
	}
	badID := "no\x01control"
	resp := send(t, c, chat, al, "hi", &badID)
	readableError(t, "a client_msg_id with a control byte", resp.Code, resp.Msg, codeInvalidArgument, "client_msg_id")
}

func checkPull(t *testing.T, c imservice.Client, tag string) {
	al, bob := "pal"+tag, "pbob"+tag
	chat, room := al+":"+bob, al+":"+bob
	id := "pull-" + tag
	sent := []*rpc.Message{
		sendOK(t, c, chat, al, "one", nil),
		sendOK(t, c, "pbob"+tag+":pal"+tag, bob, "two", &id),
		sendOK(t, c, chat, al, "three", nil),
	}
	if sent[1].Chat != room {
		t.Fatalf("a send to %q was stored as %q, want the room form %q", "pbob:pal", sent[1].Chat, room)
	}

	// Reverse unset: oldest first, in pages that neither repeat nor skip.
	page := pull(t, c, &rpc.PullRequest{Chat: chat, Cursor: 0, Limit: 2})
	if page.Code != codeOK || len(page.Messages) != 2 || page.HasMore == nil || !*page.HasMore ||
		page.NextCursor == nil || *page.NextCursor != sent[2].SendTime {
		t.Fatalf("first page: code %d %q, %d messages, HasMore %v, NextCursor %v", page.Code, page.Msg, len(page.Messages), page.HasMore, page.NextCursor)
	}
	sameMessage(t, "page 1 message 1", page.Messages[0], sent[0])
	sameMessage(t, "page 1 message 2", page.Messages[1], sent[1])
	rest := pull(t, c, &rpc.PullRequest{Chat: bob + ":" + al, Cursor: *page.NextCursor, Limit: 2})
	if rest.Code != codeOK || len(rest.Messages) != 1 || rest.GetHasMore() || rest.NextCursor == nil || *rest.NextCursor != sent[2].SendTime+1 {
		t.Fatalf("second page: code %d, %d messages, HasMore %v, NextCursor %v", rest.Code, len(rest.Messages), rest.HasMore, rest.NextCursor)
	}
	sameMessage(t, "page 2 message 1", rest.Messages[0], sent[2])

	// Limit 0 means the default (10).
	all := pull(t, c, &rpc.PullRequest{Chat: chat})
	if all.Code != codeOK || len(all.Messages) != 3 || all.GetHasMore() {
		t.Fatalf("limit 0: code %d, %d messages, HasMore %v", all.Code, len(all.Messages), all.HasMore)
	}

	// Reverse: newest first from cursor 0, then from a send_time inclusively.
	newest := pull(t, c, &rpc.PullRequest{Chat: chat, Limit: 2, Reverse: ptr(true)})
	if newest.Code != codeOK || len(newest.Messages) != 2 || !newest.GetHasMore() || newest.GetNextCursor() != sent[0].SendTime {
		t.Fatalf("reverse page: code %d, %d messages, HasMore %v, NextCursor %v", newest.Code, len(newest.Messages), newest.HasMore, newest.NextCursor)
	}
	sameMessage(t, "reverse message 1", newest.Messages[0], sent[2])
	sameMessage(t, "reverse message 2", newest.Messages[1], sent[1])
	oldest := pull(t, c, &rpc.PullRequest{Chat: chat, Cursor: newest.GetNextCursor(), Limit: 2, Reverse: ptr(true)})
	if len(oldest.Messages) != 1 || oldest.GetHasMore() || oldest.NextCursor == nil || *oldest.NextCursor != 0 {
		t.Fatalf("last reverse page: %d messages, HasMore %v, NextCursor %v", len(oldest.Messages), oldest.HasMore, oldest.NextCursor)
	}
	sameMessage(t, "last reverse message", oldest.Messages[0], sent[0])

	// A room nobody wrote to: an empty page, not an error.
	empty := pull(t, c, &rpc.PullRequest{Chat: "x" + tag + ":y" + tag, Cursor: 42})
	if empty.Code != codeOK || len(empty.Messages) != 0 || empty.GetHasMore() || empty.GetNextCursor() != 42 {
		t.Fatalf("empty room: code %d, %d messages, HasMore %v, NextCursor %v", empty.Code, len(empty.Messages), empty.HasMore, empty.NextCursor)
	}

	// A long poll that nothing ends answers the empty page when its wait is over.
	waited := pull(t, c, &rpc.PullRequest{Chat: chat, Cursor: sent[2].SendTime + 1, WaitMs: ptr(int32(200))})
	if waited.Code != codeOK || len(waited.Messages) != 0 || waited.GetHasMore() || waited.GetNextCursor() != sent[2].SendTime+1 {
		t.Fatalf("a wait that timed out: code %d, %d messages, HasMore %v, NextCursor %v", waited.Code, len(waited.Messages), waited.HasMore, waited.NextCursor)
	}

	for _, bad := range []struct {
		what     string
		req      *rpc.PullRequest
		mentions string
	}{
		{"a malformed chat", &rpc.PullRequest{Chat: "nocolon" + tag}, "chat"},
		{"a member with a space", &rpc.PullRequest{Chat: "a b:c"}, "chat"},
		{"a negative cursor", &rpc.PullRequest{Chat: chat, Cursor: -1}, "cursor"},
		{"a negative limit", &rpc.PullRequest{Chat: chat, Limit: -1}, "limit"},
		{"a negative wait", &rpc.PullRequest{Chat: chat, WaitMs: ptr(int32(-1))}, "wait"},
	} {
		resp := pull(t, c, bad.req)
		readableError(t, bad.what, resp.Code, resp.Msg, codeInvalidArgument, bad.mentions)
	}
}

func checkChats(t *testing.T, c imservice.Client, tag string) {
	al, bob, cy := "cal"+tag, "cbob"+tag, "ccy"+tag
	sendOK(t, c, bob+":"+al, al, "to bob", nil)
	toCy := sendOK(t, c, al+":"+cy, cy, "to cy", nil)
	toBobAgain := sendOK(t, c, al+":"+bob, bob, "to bob again", nil)

	// Forward, every field unset but Member: lowest version first.
	inbox := chats(t, c, &rpc.ChatsRequest{Member: al})
	if inbox.Code != codeOK || len(inbox.Chats) != 2 || inbox.GetHasMore() {
		t.Fatalf("inbox: code %d %q, %d chats, HasMore %v", inbox.Code, inbox.Msg, len(inbox.Chats), inbox.HasMore)
	}
	first, second := inbox.Chats[0], inbox.Chats[1]
	if first.Chat != al+":"+cy || second.Chat != al+":"+bob {
		t.Fatalf("inbox order %q, %q: want the room changed last at the end", first.Chat, second.Chat)
	}
	if first.Version < 1 || second.Version <= first.Version {
		t.Fatalf("versions %d, %d: want >= 1 and increasing", first.Version, second.Version)
	}
	sameMessage(t, "the first room's last message", first.LastMessage, toCy)
	sameMessage(t, "the second room's last message", second.LastMessage, toBobAgain)
	if inbox.NextCursor == nil || *inbox.NextCursor != second.Version+1 {
		t.Fatalf("NextCursor %v, want %d", inbox.NextCursor, second.Version+1)
	}

	// Paged: has_more and next_cursor point at the next room.
	one := chats(t, c, &rpc.ChatsRequest{Member: al, Limit: ptr(int32(1))})
	if len(one.Chats) != 1 || !one.GetHasMore() || one.GetNextCursor() != second.Version {
		t.Fatalf("one per page: %d chats, HasMore %v, NextCursor %v", len(one.Chats), one.HasMore, one.NextCursor)
	}
	later := chats(t, c, &rpc.ChatsRequest{Member: al, Cursor: ptr(one.GetNextCursor())})
	if len(later.Chats) != 1 || later.Chats[0].Chat != second.Chat || later.GetHasMore() {
		t.Fatalf("the next page: %+v", later)
	}

	// Reverse: most recent first, next_cursor 0 at the end.
	recent := chats(t, c, &rpc.ChatsRequest{Member: al, Reverse: ptr(true)})
	if len(recent.Chats) != 2 || recent.Chats[0].Chat != second.Chat || recent.Chats[1].Chat != first.Chat ||
		recent.GetHasMore() || recent.NextCursor == nil || *recent.NextCursor != 0 {
		t.Fatalf("reverse inbox: %+v", recent)
	}
	if recent.Chats[0].Version != second.Version {
		t.Fatalf("reverse version %d, forward %d", recent.Chats[0].Version, second.Version)
	}

	// Somebody who never wrote has an empty inbox, not an error.
	nobody := chats(t, c, &rpc.ChatsRequest{Member: "nobody" + tag})
	if nobody.Code != codeOK || len(nobody.Chats) != 0 || nobody.GetHasMore() {
		t.Fatalf("an unknown member: code %d %q, %d chats, HasMore %v", nobody.Code, nobody.Msg, len(nobody.Chats), nobody.HasMore)
	}

	for _, bad := range []struct {
		what     string
		req      *rpc.ChatsRequest
		mentions string
	}{
		{"an empty member", &rpc.ChatsRequest{Member: ""}, "member"},
		{"a member with ':'", &rpc.ChatsRequest{Member: al + ":" + bob}, "member"},
		{"a negative cursor", &rpc.ChatsRequest{Member: al, Cursor: ptr(int64(-1))}, "cursor"},
		{"a negative limit", &rpc.ChatsRequest{Member: al, Limit: ptr(int32(-1))}, "limit"},
		{"a negative wait", &rpc.ChatsRequest{Member: al, WaitMs: ptr(int32(-1))}, "wait"},
	} {
		resp := chats(t, c, bad.req)
		readableError(t, bad.what, resp.Code, resp.Msg, codeInvalidArgument, bad.mentions)
	}
}

// A real fault inside the service (here the database refuses a row, by a trigger) is code 3
// with a readable Msg, and fails only that send.
func TestAFaultIsCode3AndFailsOnlyItsSend(t *testing.T) {
	harness.Require(t)
	url := harness.FreshDatabaseURL(harness.MySQLURL())
	server := harness.StartRPCServer(t, url, nil)
	c := newClient(t, server.Addr)
	sendOK(t, c, "a:b", "a", "before", nil)
	mysql(t, url, "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW "+
		"BEGIN IF NEW.text = 'poison' THEN "+
		"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison refused'; END IF; END")

	resp := send(t, c, "a:b", "a", "poison", nil)
	if resp.Code != codeInternal || resp.Stored != nil || len(strings.Fields(resp.Msg)) < 2 {
		t.Fatalf("a refused row: code %d %q, stored %v; want code 3 with a readable Msg", resp.Code, resp.Msg, resp.Stored)
	}
	after := sendOK(t, c, "a:b", "b", "after", nil)
	page := pull(t, c, &rpc.PullRequest{Chat: "a:b"})
	if len(page.Messages) != 2 || page.Messages[1].SendTime != after.SendTime {
		t.Fatalf("after the fault: %d messages", len(page.Messages))
	}
}

// mysql runs one statement on the database of url with the command-line client.
func mysql(t *testing.T, url, statement string) {
	t.Helper()
	// mysql://user[:password]@host:port/database
	rest := strings.TrimPrefix(url, "mysql://")
	creds, hostDB, _ := strings.Cut(rest, "@")
	hostPort, database, _ := strings.Cut(hostDB, "/")
	user, password, _ := strings.Cut(creds, ":")
	host, port, _ := strings.Cut(hostPort, ":")
	if port == "" {
		port = "3306"
	}
	args := []string{"--protocol=tcp", "--delimiter=$$", "-h", host, "-P", port, "-u", user, database, "-e", statement}
	if password != "" {
		args = append(args, "-p"+password)
	}
	for _, client := range []string{"mariadb", "mysql"} {
		if _, err := exec.LookPath(client); err != nil {
			continue
		}
		if out, err := exec.Command(client, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", client, err, out)
		}
		return
	}
	t.Fatalf("no mariadb or mysql client on PATH to run %q", statement)
}
