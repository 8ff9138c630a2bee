"""Calls IMService with the Apache Thrift Python library, as any plain Thrift client would.

Usage: thrift_client.py GEN_DIR PORT framed|buffered
GEN_DIR holds the code `thrift --gen py idl_rpc.thrift` made. Exits non-zero on any mismatch.
"""

import sys

gen_dir, port, transport_kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, gen_dir)

from thrift.protocol import TBinaryProtocol  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402

from idl_rpc import IMService  # noqa: E402
from idl_rpc.ttypes import Message, PullRequest, SendRequest  # noqa: E402

socket = TSocket.TSocket("127.0.0.1", port)
if transport_kind == "framed":
    transport = TTransport.TFramedTransport(socket)
else:
    transport = TTransport.TBufferedTransport(socket)
client = IMService.Client(TBinaryProtocol.TBinaryProtocol(transport))
transport.open()

text = "héllo from Python 🐍 " + transport_kind
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

transport.close()
print("interop ok:", transport_kind)
