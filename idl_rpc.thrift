// API for pull mode IM service.
// Field ids and types of the reference assignment are kept as they are; fields marked
// "added" are optional extensions that older clients simply skip.
namespace go rpc

struct Message {
    1: string Chat   // format "<member1>:<member2>", e.g. "john:doe"
    2: string Text   // message text content
    3: string Sender // sender identifier
    4: i64 SendTime  // unit: microseconds
    5: optional string ClientMsgId // added: the sender's id of the message, which makes resending it safe (docs/api.md)
}

struct SendRequest {
    1: required Message message // message to be sent
}

struct SendResponse {
    1: required i32 Code       // zero for success, non-zero for failures (see docs/api.md, errors)
    2: required string Msg     // prompt information
    3: optional Message Stored // added: the stored message, chat in room form, with its SendTime
    4: optional bool Duplicate // added: true when ClientMsgId named a message stored before
}

struct PullRequest {
    1: required string Chat  // format "<member1>:<member2>", e.g. "john:doe"
    2: required i64 Cursor   // starting position of message's send_time, inclusively, 0 by default
    3: required i32 Limit    // the maximum number of messages returned per request, 10 by default
    4: optional bool Reverse // if false, the results will be sorted in ascending order by time
    5: optional i32 WaitMs   // added: a forward pull whose page is empty waits up to this long for the next message (docs/api.md)
}

struct PullResponse {
    1: required i32 Code   // zero for success, non-zero for failures (see docs/api.md, errors)
    2: required string Msg // prompt information
    3: optional list<Message> Messages
    4: optional bool HasMore   // if true, can use next_cursor to pull the next page of messages
    5: optional i64 NextCursor // starting position of next page, inclusively
}

// Added: a member's inbox, its rooms in the order they last changed (docs/api.md, the inbox).
struct ChatEntry {
    1: required string Chat       // the room, "<member1>:<member2>" sorted
    2: required i64 Version       // the room's version in this member's inbox, from its latest commit
    3: required Message LastMessage // the room's newest message, as a pull returns it
    4: optional i32 Unread        // added: the other member's messages after this member's read marker, exact up to 100 (100: 100 or more)
    5: optional i64 ReadUpTo      // added: this member's read marker (a send_time), 0 if none
    6: optional i64 PeerReadUpTo  // added: the other member's read marker, 0 if none
}

struct ChatsRequest {
    1: required string Member // whose inbox
    2: optional i64 Cursor    // a version, inclusively, 0 by default
    3: optional i32 Limit     // rooms per answer, 20 by default, at most 100
    4: optional bool Reverse  // if true, highest version first (cursor 0: from the newest)
    5: optional i32 WaitMs    // a forward call whose page is empty waits up to this long for a change
}

struct ChatsResponse {
    1: required i32 Code   // zero for success, non-zero for failures (see docs/api.md, errors)
    2: required string Msg // prompt information
    3: optional list<ChatEntry> Chats
    4: optional bool HasMore   // if true, next_cursor is the version of the next room
    5: optional i64 NextCursor // starting position of the next call, inclusively
}

// Added: a member's read marker in a room (docs/api.md, read markers). It only moves forward,
// never beyond the room's newest message; a move gives the room a new version in both
// members' inboxes.
struct MarkReadRequest {
    1: required string Chat   // format "<member1>:<member2>"; Member must be one of the two
    2: required string Member // whose marker
    3: required i64 ReadUpTo  // a send_time: every message up to it is read
}

struct MarkReadResponse {
    1: required i32 Code       // zero for success, non-zero for failures (see docs/api.md, errors)
    2: required string Msg     // prompt information
    3: optional i64 ReadUpTo   // the marker as stored
}

// added: many sends or pulls in one exchange. The http-server gathers the calls bound for one
// replica while its previous exchange is under way (docs/design.md). Each item is answered on
// its own, in order: one failing item fails alone. Other clients never need these.
struct SendBatchRequest {
    1: required list<SendRequest> Sends
    2: optional list<i32> BudgetsMs // per send: how long its caller still waits, in ms; a send not committed by then is left out
}

struct SendBatchResponse {
    1: required list<SendResponse> Replies // one per send, in order
}

struct PullBatchRequest {
    1: required list<PullRequest> Pulls // WaitMs is ignored: a batch never waits
    2: optional list<i32> BudgetsMs     // per pull, as for sends
}

struct PullBatchResponse {
    1: required list<PullResponse> Replies // one per pull, in order
}

// added: long polls that hold no connection each. A caller (the http-server, one Waiter name per
// process) hands pulls over, each named by its Id, and collects their answers with later calls;
// a pull waits at the replica as Pull would. A newer call of the same Waiter ends the one before
// it at once, with no answers, so one connection carries all of a Waiter's waits. A Waiter that
// makes no call for a minute is forgotten, with its pulls. Waiting Chats listings are handed over
// and answered the same way (Chats and ChatsReplies, added later), their Ids unique among the
// Waiter's pulls and listings.
struct AwaitedPullRequest {
    1: required i64 Id           // names the answer
    2: required PullRequest Pull // WaitMs as in Pull
    3: optional i32 BudgetMs     // how long its caller still waits, in ms
}

struct AwaitedChatsRequest {
    1: required i64 Id             // names the answer
    2: required ChatsRequest Chats // WaitMs as in Chats
    3: optional i32 BudgetMs       // how long its caller still waits, in ms
}

struct AwaitPullsRequest {
    1: required string Waiter
    2: required list<AwaitedPullRequest> Pulls // handed over now (at most 1024, with Chats)
    3: required i32 HoldMs // how long this call may wait for an answer (at most 30000)
    4: optional list<AwaitedChatsRequest> Chats // listings handed over now
    5: optional list<i64> Gone // Ids handed over earlier whose callers went away: they stop, unanswered (added)
}

struct AwaitedPullResponse {
    1: required i64 Id
    2: required PullResponse Reply
}

struct AwaitedChatsResponse {
    1: required i64 Id
    2: required ChatsResponse Reply
}

struct AwaitPullsResponse {
    1: required list<AwaitedPullResponse> Replies // the answers ready, in no order
    2: optional list<AwaitedChatsResponse> ChatsReplies // the listings' answers ready
}

service IMService {
    SendResponse Send(1: SendRequest req)
    PullResponse Pull(2: PullRequest req)
    ChatsResponse Chats(1: ChatsRequest req) // added: a member's inbox
    SendBatchResponse SendBatch(1: SendBatchRequest req) // added: sends in one exchange
    PullBatchResponse PullBatch(1: PullBatchRequest req) // added: pulls in one exchange
    AwaitPullsResponse AwaitPulls(1: AwaitPullsRequest req) // added: long polls, many per connection
    MarkReadResponse MarkRead(1: MarkReadRequest req) // added: move a member's read marker
}
