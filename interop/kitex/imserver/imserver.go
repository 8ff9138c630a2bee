// Package imserver is a small IMService written with Kitex, keeping its messages in memory. It
// exists to show that this project's http-server finds a Kitex server through registry-etcd and
// calls it as it calls its own replicas; it follows the contract's rules for chats, cursors and
// error codes, not its durability.
package imserver

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"imkitex/kitex_gen/rpc"
)

// Error codes of the contract.
const (
	CodeOK                  = 0
	CodeInvalidArgument     = 1
	CodeClientMsgIDConflict = 9
)

const (
	defaultPullLimit  = 10
	defaultChatsLimit = 20
	maxLimit          = 100
	maxUnread         = 100
)

// Server implements rpc.IMService. The zero value is not usable; call New.
type Server struct {
	calls atomic.Int64

	mu    sync.Mutex
	rooms map[string][]*rpc.Message // oldest first
	// inbox[member][room] is the room's version in that member's inbox.
	inbox   map[string]map[string]int64
	version map[string]int64
	// read[room][member] is that member's read marker in the room, a send_time.
	read map[string]map[string]int64
}

// New returns an empty server.
func New() *Server {
	return &Server{
		rooms:   map[string][]*rpc.Message{},
		inbox:   map[string]map[string]int64{},
		version: map[string]int64{},
		read:    map[string]map[string]int64{},
	}
}

// Calls is how many calls the server has answered, whatever their outcome.
func (s *Server) Calls() int64 { return s.calls.Load() }

func (s *Server) Send(_ context.Context, req *rpc.SendRequest) (*rpc.SendResponse, error) {
	s.calls.Add(1)
	m := req.GetMessage()
	if m == nil {
		return &rpc.SendResponse{Code: CodeInvalidArgument, Msg: "message is required"}, nil
	}
	room, a, b, err := parseChat(m.Chat)
	if err != nil {
		return &rpc.SendResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	if m.Sender != a && m.Sender != b {
		return &rpc.SendResponse{Code: CodeInvalidArgument, Msg: fmt.Sprintf("sender %q is not a member of chat %q", m.Sender, m.Chat)}, nil
	}
	if n := utf8.RuneCountInString(m.Text); n == 0 || n > 4096 || strings.TrimSpace(m.Text) == "" || !utf8.ValidString(m.Text) {
		return &rpc.SendResponse{Code: CodeInvalidArgument, Msg: "text must be 1 to 4096 characters, not only whitespace"}, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	history := s.rooms[room]
	if m.ClientMsgId != nil {
		for _, old := range history {
			if old.ClientMsgId != nil && *old.ClientMsgId == *m.ClientMsgId && old.Sender == m.Sender {
				if old.Text != m.Text {
					return &rpc.SendResponse{Code: CodeClientMsgIDConflict, Msg: "client_msg_id already names another message of this sender in this room"}, nil
				}
				duplicate := true
				return &rpc.SendResponse{Code: CodeOK, Msg: "duplicate", Stored: old, Duplicate: &duplicate}, nil
			}
		}
	}
	sendTime := time.Now().UnixMicro()
	if n := len(history); n > 0 && history[n-1].SendTime >= sendTime {
		sendTime = history[n-1].SendTime + 1
	}
	stored := &rpc.Message{Chat: room, Text: m.Text, Sender: m.Sender, SendTime: sendTime, ClientMsgId: m.ClientMsgId}
	s.rooms[room] = append(history, stored)
	s.touch(room, a, b)
	duplicate := false
	return &rpc.SendResponse{Code: CodeOK, Msg: "ok", Stored: stored, Duplicate: &duplicate}, nil
}

func (s *Server) Pull(_ context.Context, req *rpc.PullRequest) (*rpc.PullResponse, error) {
	s.calls.Add(1)
	room, _, _, err := parseChat(req.Chat)
	if err != nil {
		return &rpc.PullResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	limit, err := pageLimit(req.Cursor, req.Limit, defaultPullLimit)
	if err != nil {
		return &rpc.PullResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	s.mu.Lock()
	history := append([]*rpc.Message(nil), s.rooms[room]...)
	s.mu.Unlock()
	page, hasMore, next := paginate(history, func(m *rpc.Message) int64 { return m.SendTime }, req.Cursor, limit, req.GetReverse())
	return &rpc.PullResponse{Code: CodeOK, Msg: "ok", Messages: page, HasMore: &hasMore, NextCursor: &next}, nil
}

func (s *Server) Chats(_ context.Context, req *rpc.ChatsRequest) (*rpc.ChatsResponse, error) {
	s.calls.Add(1)
	if err := checkMember(req.Member); err != nil {
		return &rpc.ChatsResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	limit, err := pageLimit(req.GetCursor(), req.GetLimit(), defaultChatsLimit)
	if err != nil {
		return &rpc.ChatsResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	s.mu.Lock()
	var entries []*rpc.ChatEntry
	for room, version := range s.inbox[req.Member] {
		history := s.rooms[room]
		_, a, b, _ := parseChat(room)
		peer := a
		if peer == req.Member {
			peer = b
		}
		readUpTo, peerReadUpTo := s.read[room][req.Member], s.read[room][peer]
		unread := countUnread(history, req.Member, peer, readUpTo)
		entries = append(entries, &rpc.ChatEntry{Chat: room, Version: version, LastMessage: history[len(history)-1],
			Unread: &unread, ReadUpTo: &readUpTo, PeerReadUpTo: &peerReadUpTo})
	}
	s.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Version < entries[j].Version })
	page, hasMore, next := paginate(entries, func(e *rpc.ChatEntry) int64 { return e.Version }, req.GetCursor(), limit, req.GetReverse())
	if page == nil {
		page = []*rpc.ChatEntry{}
	}
	return &rpc.ChatsResponse{Code: CodeOK, Msg: "ok", Chats: page, HasMore: &hasMore, NextCursor: &next}, nil
}

// MarkRead moves a member's read marker forward, never beyond the room's newest message; a
// marker that moves gives the room a new version in both members' inboxes.
func (s *Server) MarkRead(_ context.Context, req *rpc.MarkReadRequest) (*rpc.MarkReadResponse, error) {
	s.calls.Add(1)
	room, a, b, err := parseChat(req.Chat)
	if err != nil {
		return &rpc.MarkReadResponse{Code: CodeInvalidArgument, Msg: err.Error()}, nil
	}
	if req.Member != a && req.Member != b {
		return &rpc.MarkReadResponse{Code: CodeInvalidArgument, Msg: fmt.Sprintf("member %q is not a member of chat %q", req.Member, req.Chat)}, nil
	}
	if req.ReadUpTo < 0 {
		return &rpc.MarkReadResponse{Code: CodeInvalidArgument, Msg: fmt.Sprintf("read_up_to must be 0 or more, got %d", req.ReadUpTo)}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	marker := s.read[room][req.Member]
	newest := int64(0)
	if history := s.rooms[room]; len(history) > 0 {
		newest = history[len(history)-1].SendTime
	}
	if target := min(req.ReadUpTo, newest); target > marker {
		marker = target
		if s.read[room] == nil {
			s.read[room] = map[string]int64{}
		}
		s.read[room][req.Member] = marker
		s.touch(room, a, b)
	}
	return &rpc.MarkReadResponse{Code: CodeOK, Msg: "ok", ReadUpTo: &marker}, nil
}

// countUnread counts peer's messages after the marker, at most maxUnread; a self-chat has none.
func countUnread(history []*rpc.Message, member, peer string, marker int64) int32 {
	unread := int32(0)
	if peer == member {
		return unread
	}
	for i := len(history) - 1; i >= 0 && history[i].SendTime > marker && unread < maxUnread; i-- {
		if history[i].Sender == peer {
			unread++
		}
	}
	return unread
}

// touch gives room a new version in the inbox of each of its members.
func (s *Server) touch(room, a, b string) {
	for _, member := range uniq(a, b) {
		s.version[member]++
		if s.inbox[member] == nil {
			s.inbox[member] = map[string]int64{}
		}
		s.inbox[member][room] = s.version[member]
	}
}

// paginate applies the contract's cursor rules to items sorted by ascending key.
func paginate[T any](items []T, key func(T) int64, cursor int64, limit int, reverse bool) (page []T, hasMore bool, next int64) {
	var candidates []T
	if reverse {
		for i := len(items) - 1; i >= 0; i-- {
			if cursor == 0 || key(items[i]) <= cursor {
				candidates = append(candidates, items[i])
			}
		}
	} else {
		for _, item := range items {
			if key(item) >= cursor {
				candidates = append(candidates, item)
			}
		}
	}
	page = candidates
	if len(candidates) > limit {
		page = candidates[:limit]
		return page, true, key(candidates[limit])
	}
	switch {
	case reverse:
		return page, false, 0
	case len(page) == 0:
		return page, false, cursor
	default:
		return page, false, key(page[len(page)-1]) + 1
	}
}

func pageLimit(cursor int64, limit int32, byDefault int) (int, error) {
	if cursor < 0 {
		return 0, fmt.Errorf("cursor must be 0 or more, got %d", cursor)
	}
	switch {
	case limit < 0:
		return 0, fmt.Errorf("limit must be 0 or more, got %d", limit)
	case limit == 0:
		return byDefault, nil
	case limit > maxLimit:
		return maxLimit, nil
	default:
		return int(limit), nil
	}
}

// parseChat returns the room form of a chat and its two members.
func parseChat(chat string) (room, a, b string, err error) {
	a, b, ok := strings.Cut(chat, ":")
	if !ok {
		return "", "", "", fmt.Errorf("chat must be \"<member1>:<member2>\", got %q", chat)
	}
	for _, m := range []string{a, b} {
		if err := checkMember(m); err != nil {
			return "", "", "", fmt.Errorf("chat %q: %w", chat, err)
		}
	}
	if b < a {
		a, b = b, a
	}
	return a + ":" + b, a, b, nil
}

func checkMember(m string) error {
	if len(m) == 0 || len(m) > 64 || !utf8.ValidString(m) {
		return fmt.Errorf("a member is 1 to 64 bytes of UTF-8, got %q", m)
	}
	for _, r := range m {
		if r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("member %q holds ':', whitespace or a control character", m)
		}
	}
	return nil
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
