"""Calls IMService with the Apache Thrift Python library, as any plain Thrift client would.

Usage: thrift_client.py GEN_DIR PORT framed|buffered binary|compact
GEN_DIR holds the code `thrift --gen py idl_rpc.thrift` made. Exits non-zero on any mismatch.
Besides the happy path it sends what a hostile or sloppy client can: strings that are not UTF-8
(legal on the wire) and requests without their required fields.
"""

import sys

gen_dir, port, transport_kind, protocol_kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sys.path.insert(0, gen_dir)

from thrift.protocol import TBinaryProtocol, TCompactProtocol  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402

from idl_rpc import IMService  # noqa: E402
from idl_rpc.ttypes import ChatsRequest, MarkReadRequest, Message, PullRequest, SendRequest  # noqa: E402

socket = TSocket.TSocket("127.0.0.1", port)
if transport_kind == "framed":
    transport = TTransport.TFramedTransport(socket)
else:
    transport = TTransport.TBufferedTransport(socket)
Protocol = TBinaryProtocol.TBinaryProtocol if protocol_kind == "binary" else TCompactProtocol.TCompactProtocol


class RawStringProtocol(Protocol):
    """Writes a `bytes` value of a string field as it is, UTF-8 or not."""

    def writeString(self, value):
        self.writeBinary(value if isinstance(value, bytes) else value.encode("utf-8"))


client = IMService.Client(RawStringProtocol(transport))
transport.open()

text = f"héllo from Python 🐍 {transport_kind} {protocol_kind}"
sent = client.Send(SendRequest(message=Message(Chat="bob:al", Text=text, Sender="al")))
assert sent.Code == 0, sent
assert sent.Stored.Chat == "al:bob", sent
assert sent.Stored.Text == text, sent
assert sent.Stored.SendTime > 0, sent

refused = client.Send(SendRequest(message=Message(Chat="al:bob", Text="hi", Sender="cy")))
assert refused.Code == 1 and "cy" in refused.Msg, refused

page = client.Pull(PullRequest(Chat="al:bob", Cursor=0, Limit=10))
assert page.Code == 0, page
assert [m.Text for m in page.Messages] == [text], page
assert page.HasMore is False, page
assert page.NextCursor == sent.Stored.SendTime + 1, page

newest = client.Pull(PullRequest(Chat="al:bob", Cursor=0, Limit=10, Reverse=True))
assert newest.Code == 0 and newest.NextCursor == 0, newest

invalid = client.Pull(PullRequest(Chat="al:bob", Cursor=0, Limit=-1))
assert invalid.Code == 1 and "limit" in invalid.Msg, invalid

not_utf8 = b"al\xff\xfe"
for field in ("Chat", "Sender", "Text"):
    fields = {"Chat": "al:bob", "Sender": "al", "Text": "fine"}
    fields[field] = not_utf8
    bad = client.Send(SendRequest(message=Message(**fields)))
    assert bad.Code == 1 and bad.Msg == f"{field.lower()} is not valid UTF-8", (field, bad)
bad = client.Pull(PullRequest(Chat=not_utf8, Cursor=0, Limit=10))
assert bad.Code == 1 and bad.Msg == "chat is not valid UTF-8", bad

missing = client.Send(SendRequest(message=None))
assert missing.Code == 1 and missing.Msg == "message is required", missing
for field in ("Chat", "Cursor", "Limit"):
    fields = {"Chat": "al:bob", "Cursor": 0, "Limit": 10}
    fields[field] = None
    missing = client.Pull(PullRequest(**fields))
    assert missing.Code == 1 and missing.Msg == f"{field.lower()} is required", (field, missing)

inbox = client.Chats(ChatsRequest(Member="bob"))
assert inbox.Code == 0 and inbox.HasMore is False, inbox
assert [c.Chat for c in inbox.Chats] == ["al:bob"] and inbox.Chats[0].Version > 0, inbox
assert inbox.Chats[0].LastMessage.Text == text and inbox.Chats[0].LastMessage.Sender == "al", inbox
assert inbox.NextCursor == inbox.Chats[0].Version + 1, inbox
newest_first = client.Chats(ChatsRequest(Member="al", Cursor=0, Limit=5, Reverse=True, WaitMs=0))
assert newest_first.Code == 0 and newest_first.NextCursor == 0, newest_first
assert [c.Chat for c in newest_first.Chats] == ["al:bob"], newest_first
nobody = client.Chats(ChatsRequest(Member="nobody"))
assert nobody.Code == 0 and nobody.Chats == [] and nobody.NextCursor == 0, nobody
for bad, word in ((ChatsRequest(Member="a:b"), "member"), (ChatsRequest(Member="al", Cursor=-1), "cursor"),
                  (ChatsRequest(Member="al", WaitMs=-5), "wait_ms"), (ChatsRequest(Member=None), "member"),
                  (ChatsRequest(Member=not_utf8), "member")):
    refused = client.Chats(bad)
    assert refused.Code == 1 and word in refused.Msg, (bad, refused)

# Read markers: bob reads al's message; both inboxes show it.
assert inbox.Chats[0].Unread == 1 and inbox.Chats[0].ReadUpTo == 0, inbox
marked = client.MarkRead(MarkReadRequest(Chat="al:bob", Member="bob", ReadUpTo=2**63 - 1))
assert marked.Code == 0 and marked.ReadUpTo == sent.Stored.SendTime, marked
read = client.Chats(ChatsRequest(Member="bob")).Chats[0]
assert (read.Unread, read.ReadUpTo) == (0, sent.Stored.SendTime), read
assert read.Version > 1, read
seen = client.Chats(ChatsRequest(Member="al")).Chats[0]
assert seen.PeerReadUpTo == sent.Stored.SendTime, seen
for bad, word in ((MarkReadRequest(Chat="al:bob", Member="cy", ReadUpTo=1), "member"),
                  (MarkReadRequest(Chat="al:bob", Member="al", ReadUpTo=-1), "read_up_to"),
                  (MarkReadRequest(Chat="al:bob", Member="al", ReadUpTo=None), "read_up_to"),
                  (MarkReadRequest(Chat=not_utf8, Member="al", ReadUpTo=1), "chat")):
    refused = client.MarkRead(bad)
    assert refused.Code == 1 and word in refused.Msg and refused.ReadUpTo is None, (bad, refused)

# Nothing of the above was stored, and the connection still serves.
page = client.Pull(PullRequest(Chat="al:bob", Cursor=0, Limit=10, Reverse=False))
assert page.Code == 0 and [m.Text for m in page.Messages] == [text], page

transport.close()
print("interop ok:", transport_kind, protocol_kind)
