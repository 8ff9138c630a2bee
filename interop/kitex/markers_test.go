package interop_test

import (
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"imkitex/imserver"
	"imkitex/internal/harness"
	"imkitex/kitex_gen/rpc"
	"imkitex/kitex_gen/rpc/imservice"
)

// Read markers (SPEC, Read markers) set by a Kitex client with default options on a real
// rpc-server, and seen in the inboxes of both members.
func TestKitexMarkReadOnTheRPCServer(t *testing.T) {
	harness.Require(t)
	server := harness.StartRPCServer(t, harness.FreshDatabaseURL(harness.MySQLURL()), nil)
	c := newClient(t, server.Addr)
	t.Run("Markers", func(t *testing.T) { checkMarkers(t, c) })
	t.Run("WaitingListings", func(t *testing.T) { checkMarkersWakeListings(t, c) })
}

// The same rules in the in-memory Kitex IMService, which the http-server may call in place of a
// replica.
func TestKitexIMServerMarkRead(t *testing.T) {
	addr := harness.FreeAddr(t)
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	svr := imservice.NewServer(imserver.New(), server.WithServiceAddr(tcp))
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Run() }()
	t.Cleanup(func() {
		_ = svr.Stop()
		<-stopped
	})
	harness.Eventually(t, "the Kitex server listens", 30*time.Second, func() bool { return harness.Listening(addr) })
	checkMarkers(t, newClient(t, addr))
}

func checkMarkers(t *testing.T, c imservice.Client) {
	al, bob, cy := "mal", "mbob", "mcy"
	chat, room := bob+":"+al, al+":"+bob

	// In a room without messages the marker stays 0, and no inbox lists the room.
	wantMarker(t, "a marker in a room without messages", markRead(t, c, chat, al, 12345), 0)
	if inbox := chats(t, c, &rpc.ChatsRequest{Member: al}); inbox.Code != codeOK || len(inbox.Chats) != 0 {
		t.Fatalf("after a marker in a room without messages: code %d %q, chats %+v", inbox.Code, inbox.Msg, inbox.Chats)
	}

	m1 := sendOK(t, c, chat, bob, "one", nil)
	m2 := sendOK(t, c, chat, bob, "two", nil)
	sendOK(t, c, chat, bob, "three", nil)
	own := sendOK(t, c, chat, al, "mine", nil)

	// No marker yet: each member has the other's messages unread. A member's own send moves
	// no marker.
	alEntry := wantEntry(t, c, al, room, 3, 0, 0)
	bobEntry := wantEntry(t, c, bob, room, 1, 0, 0)

	// Forward: the room gets a new version in both inboxes.
	wantMarker(t, "al reads up to the second message", markRead(t, c, chat, al, m2.SendTime), m2.SendTime)
	alEntry = wantMoved(t, alEntry, wantEntry(t, c, al, room, 1, m2.SendTime, 0))
	bobEntry = wantMoved(t, bobEntry, wantEntry(t, c, bob, room, 1, 0, m2.SendTime))

	// Backward or the same value: the marker stays, and no version changes.
	for _, back := range []int64{m1.SendTime, m2.SendTime, m2.SendTime - 1, 0} {
		wantMarker(t, fmt.Sprintf("al marks %d after %d", back, m2.SendTime), markRead(t, c, room, al, back), m2.SendTime)
	}
	wantStill(t, alEntry, wantEntry(t, c, al, room, 1, m2.SendTime, 0))
	wantStill(t, bobEntry, wantEntry(t, c, bob, room, 1, 0, m2.SendTime))

	// Beyond the room's newest message: clamped to it (al's own message is the newest).
	wantMarker(t, "al marks an hour ahead", markRead(t, c, chat, al, own.SendTime+3_600_000_000), own.SendTime)
	alEntry = wantMoved(t, alEntry, wantEntry(t, c, al, room, 0, own.SendTime, 0))
	bobEntry = wantMoved(t, bobEntry, wantEntry(t, c, bob, room, 1, 0, own.SendTime))
	wantMarker(t, "al marks the largest i64", markRead(t, c, chat, al, math.MaxInt64), own.SendTime)
	wantStill(t, alEntry, wantEntry(t, c, al, room, 0, own.SendTime, 0))
	wantStill(t, bobEntry, wantEntry(t, c, bob, room, 1, 0, own.SendTime))

	// The peer's next message is unread; the peer's own marker stays where it was.
	m4 := sendOK(t, c, chat, bob, "four", nil)
	wantEntry(t, c, al, room, 1, own.SendTime, 0)
	wantEntry(t, c, bob, room, 1, 0, own.SendTime)
	wantMarker(t, "bob reads everything", markRead(t, c, room, bob, m4.SendTime), m4.SendTime)
	wantEntry(t, c, al, room, 1, own.SendTime, m4.SendTime)
	wantEntry(t, c, bob, room, 0, m4.SendTime, own.SendTime)

	// Refused: code 1 with a readable Msg, no ReadUpTo, no marker moved.
	for _, bad := range []struct {
		what, chat, member string
		readUpTo           int64
		mentions           string
	}{
		{"a member outside the chat", chat, "meve", m4.SendTime, "member"},
		{"an empty member", chat, "", m4.SendTime, "member"},
		{"a member that is not UTF-8", chat, "\xff", m4.SendTime, "member"},
		{"a negative read_up_to", chat, al, -1, "read_up_to"},
		{"the smallest i64", chat, al, math.MinInt64, "read_up_to"},
		{"a chat without ':'", al + bob, al, m4.SendTime, "chat"},
		{"a chat of three members", al + ":" + bob + ":" + cy, al, m4.SendTime, "chat"},
		{"a chat that is not UTF-8", "\xff" + chat, al, m4.SendTime, "utf-8"},
	} {
		resp := markRead(t, c, bad.chat, bad.member, bad.readUpTo)
		readableError(t, bad.what, resp.Code, resp.Msg, codeInvalidArgument, bad.mentions)
		if resp.ReadUpTo != nil {
			t.Fatalf("%s: a refused marker answered ReadUpTo %d", bad.what, *resp.ReadUpTo)
		}
	}
	wantEntry(t, c, al, room, 1, own.SendTime, m4.SendTime)

	// Unread is exact up to 100; 100 means "100 or more".
	cyRoom := al + ":" + cy
	var fromCy []*rpc.Message
	for i := 0; i < 101; i++ {
		fromCy = append(fromCy, sendOK(t, c, cyRoom, cy, fmt.Sprintf("cy %d", i), nil))
	}
	wantEntry(t, c, al, cyRoom, 100, 0, 0)
	wantMarker(t, "al reads cy's first message", markRead(t, c, cyRoom, al, fromCy[0].SendTime), fromCy[0].SendTime)
	wantEntry(t, c, al, cyRoom, 100, fromCy[0].SendTime, 0)
	wantMarker(t, "al reads cy's second message", markRead(t, c, cyRoom, al, fromCy[1].SendTime), fromCy[1].SendTime)
	wantEntry(t, c, al, cyRoom, 99, fromCy[1].SendTime, 0)
	wantEntry(t, c, cy, cyRoom, 0, 0, fromCy[1].SendTime)

	// A self-chat counts nothing unread; its other member is the member itself.
	self := al + ":" + al
	s1 := sendOK(t, c, self, al, "note 1", nil)
	sendOK(t, c, self, al, "note 2", nil)
	wantEntry(t, c, al, self, 0, 0, 0)
	wantMarker(t, "al reads its first note", markRead(t, c, self, al, s1.SendTime), s1.SendTime)
	wantEntry(t, c, al, self, 0, s1.SendTime, s1.SendTime)
}

// A marker that moves wakes the waiting listings of both members; one that does not move wakes
// none.
func checkMarkersWakeListings(t *testing.T, c imservice.Client) {
	al, bob := "wal", "wbob"
	room := al + ":" + bob
	hello := sendOK(t, c, room, al, "hello", nil)
	alNext := chats(t, c, &rpc.ChatsRequest{Member: al}).GetNextCursor()
	bobNext := chats(t, c, &rpc.ChatsRequest{Member: bob}).GetNextCursor()

	wait := func(member string, cursor int64, ms int32) <-chan *rpc.ChatsResponse {
		answer := make(chan *rpc.ChatsResponse, 1)
		callCtx := ctx(t)
		go func() {
			req := &rpc.ChatsRequest{Member: member, Cursor: ptr(cursor), WaitMs: ptr(ms)}
			resp, err := c.Chats(callCtx, req)
			if err != nil {
				resp = &rpc.ChatsResponse{Code: -1, Msg: fmt.Sprintf("Chats(%+v) failed in transport: %v", req, err)}
			}
			answer <- resp
		}()
		return answer
	}

	// A marker that does not move (bob has read nothing, and marks 0): the waits time out.
	alWait, bobWait := wait(al, alNext, 1500), wait(bob, bobNext, 1500)
	time.Sleep(300 * time.Millisecond)
	wantMarker(t, "bob marks 0", markRead(t, c, room, bob, 0), 0)
	for member, answer := range map[string]<-chan *rpc.ChatsResponse{al: alWait, bob: bobWait} {
		if resp := <-answer; resp.Code != codeOK || len(resp.Chats) != 0 {
			t.Fatalf("%s's listing woke after a marker that did not move: code %d %q, chats %+v", member, resp.Code, resp.Msg, resp.Chats)
		}
	}

	// A marker that moves: both wake with the room (waits of 15 s, within the client's RPC
	// timeout of 20 s: an empty answer means they did not wake).
	alWait, bobWait = wait(al, alNext, 15_000), wait(bob, bobNext, 15_000)
	time.Sleep(300 * time.Millisecond)
	wantMarker(t, "bob reads al's message", markRead(t, c, room, bob, hello.SendTime), hello.SendTime)
	for _, w := range []struct {
		member                     string
		answer                     <-chan *rpc.ChatsResponse
		unread, readUpTo, peerRead int64
	}{
		{al, alWait, 0, 0, hello.SendTime},
		{bob, bobWait, 0, hello.SendTime, 0},
	} {
		resp := <-w.answer
		if resp.Code != codeOK || len(resp.Chats) != 1 {
			t.Fatalf("%s's waiting listing after bob's marker moved: code %d %q, chats %+v; want the room", w.member, resp.Code, resp.Msg, resp.Chats)
		}
		e := resp.Chats[0]
		if e.Chat != room || int64(e.GetUnread()) != w.unread || e.GetReadUpTo() != w.readUpTo || e.GetPeerReadUpTo() != w.peerRead {
			t.Fatalf("%s's waiting listing answered %s; want %s unread %d, read up to %d, peer %d", w.member, describe(e), room, w.unread, w.readUpTo, w.peerRead)
		}
	}
}

// wantEntry finds room in member's inbox and checks its read state, all three fields set.
func wantEntry(t *testing.T, c imservice.Client, member, room string, unread int32, readUpTo, peerReadUpTo int64) *rpc.ChatEntry {
	t.Helper()
	inbox := chats(t, c, &rpc.ChatsRequest{Member: member, Limit: ptr(int32(100))})
	if inbox.Code != codeOK {
		t.Fatalf("Chats(%s): code %d %q", member, inbox.Code, inbox.Msg)
	}
	var listed []string
	for _, e := range inbox.Chats {
		listed = append(listed, describe(e))
		if e.Chat != room {
			continue
		}
		if e.Unread == nil || e.ReadUpTo == nil || e.PeerReadUpTo == nil {
			t.Fatalf("%s's entry for %s leaves a read field unset: %s", member, room, describe(e))
		}
		if *e.Unread != unread || *e.ReadUpTo != readUpTo || *e.PeerReadUpTo != peerReadUpTo {
			t.Fatalf("%s's entry for %s: %s; want unread %d, read up to %d, peer %d", member, room, describe(e), unread, readUpTo, peerReadUpTo)
		}
		return e
	}
	t.Fatalf("%s's inbox does not list %s: [%s]", member, room, strings.Join(listed, ", "))
	return nil
}

func describe(e *rpc.ChatEntry) string {
	opt := func(p *int64) string {
		if p == nil {
			return "<unset>"
		}
		return fmt.Sprint(*p)
	}
	unread := "<unset>"
	if e.Unread != nil {
		unread = fmt.Sprint(*e.Unread)
	}
	return fmt.Sprintf("{%s version %d unread %s read up to %s peer %s}", e.Chat, e.Version, unread, opt(e.ReadUpTo), opt(e.PeerReadUpTo))
}

func wantMarker(t *testing.T, what string, resp *rpc.MarkReadResponse, want int64) {
	t.Helper()
	if resp.Code != codeOK || resp.ReadUpTo == nil || *resp.ReadUpTo != want {
		got := "<unset>"
		if resp.ReadUpTo != nil {
			got = fmt.Sprint(*resp.ReadUpTo)
		}
		t.Fatalf("%s: code %d %q, ReadUpTo %s; want the marker as stored, %d", what, resp.Code, resp.Msg, got, want)
	}
}

// wantMoved checks that a room got a new version in an inbox, and returns its entry.
func wantMoved(t *testing.T, before, after *rpc.ChatEntry) *rpc.ChatEntry {
	t.Helper()
	if after.Version <= before.Version {
		t.Fatalf("a marker moved, yet %s's version went from %d to %d", after.Chat, before.Version, after.Version)
	}
	return after
}

func wantStill(t *testing.T, before, after *rpc.ChatEntry) {
	t.Helper()
	if after.Version != before.Version {
		t.Fatalf("no marker moved, yet %s's version went from %d to %d", after.Chat, before.Version, after.Version)
	}
}
