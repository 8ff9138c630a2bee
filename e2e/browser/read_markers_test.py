"""Read markers and unread counts: counts from the server, cleared on every device; "Seen" for
the sender; nothing marked read while the tab is hidden or unfocused; markers only go forward.
"""

from playwright.sync_api import expect

from harness import PHONE, room, test


def only_forward(reads):
    """Each chat's marker was sent strictly increasing: never backwards, never twice."""
    sent = {}
    for body in reads:
        sent.setdefault(body["chat"], []).append(body["read_up_to"])
    for chat, values in sent.items():
        assert all(a < b for a, b in zip(values, values[1:])), f"{chat}: marks sent {values}"


def chat_order(who):
    return who.page.get_by_test_id("inbox-entry").evaluate_all("ns => ns.map(n => n.dataset.chat)")


@test
def unread_counts_come_from_the_server_and_clear_on_every_device_when_read(env):
    chat, other = room("ama", "bo"), room("bo", "cyd")
    texts = ["Are you there?", "The build is green", "Shall we ship?"]
    with env.screens() as screen:
        ama = screen("ama")
        bo = screen("bo", clock=True)
        bo_phone = screen("bo", viewport=PHONE)  # the same member's second device
        ama.start_chat("bo")
        for text in texts:
            ama.send(text)
        expect(ama.stored).to_have_text(texts)
        env.api.send(other, "cyd", "Lunch?")  # newer than all of Ama's
        for device in (bo, bo_phone):
            expect(device.entry(chat)).to_have_attribute("data-unread", "3")
            expect(device.entry(chat).get_by_test_id("unread")).to_contain_text("3")
            expect(device.entry(other)).to_have_attribute("data-unread", "1")
            expect(device.page).to_have_title("(4) IM")
            assert chat_order(device) == [other, chat], chat_order(device)
        expect(ama.entry(chat)).to_have_attribute("data-unread", "0")  # her own messages
        expect(ama.page.get_by_test_id("seen")).to_have_count(0)

        # Bo reads on one device: the count goes on both, and Ama sees how far he read.
        bo.entry(chat).click()
        expect(bo.stored).to_have_text(texts)
        for device in (bo, bo_phone):
            expect(device.entry(chat)).to_have_attribute("data-unread", "0")
            expect(device.page).to_have_title("(1) IM")
        expect(ama.seen).to_contain_text(texts[-1])
        newest = bo.newest_send_time()
        assert env.api.inbox_entry("bo", chat)["unread"] == 0
        assert env.api.inbox_entry("bo", chat)["read_up_to"] == newest
        assert env.api.inbox_entry("ama", chat)["peer_read_up_to"] == newest
        # Being read moves no chat up the list: the newest message orders it.
        for device in (bo, bo_phone):
            assert chat_order(device) == [other, chat], chat_order(device)

        # While Bo looks at the chat, what comes in is read as it comes; "Seen" follows it.
        ama.send("Shipping now")
        expect(bo.stored.last).to_have_text("Shipping now")
        expect(ama.seen).to_contain_text("Shipping now")
        expect(bo_phone.entry(chat)).to_have_attribute("data-unread", "0")
        expect(bo_phone.page).to_have_title("(1) IM")

        # Away and back with nothing new: nothing is sent again.
        sent = len(bo.reads)
        bo.start_chat("dan")
        bo.entry(chat).click()
        expect(bo.stored).to_have_count(len(texts) + 1)
        bo.run_timers()
        expect(bo.entry(chat)).to_have_attribute("data-unread", "0")
        assert len(bo.reads) == sent, bo.reads[sent:]
        only_forward(bo.reads)
        assert bo.reads and all(r["member"] == "bo" for r in bo.reads), bo.reads


@test
def a_hidden_or_unfocused_tab_marks_nothing_read(env):
    chat = room("cal", "dot")
    with env.screens() as screen:
        cal, dot = screen("cal"), screen("dot", clock=True)
        cal.start_chat("dot")
        cal.send("Hello Dot")
        dot.entry(chat).click()
        expect(dot.stored).to_have_text(["Hello Dot"])
        expect(cal.seen).to_contain_text("Hello Dot")
        for how in ("hidden", "unfocused"):
            dot.away(how)
            text = f"sent while Dot's page is {how}"
            cal.send(text)
            expect(dot.stored.last).to_have_text(text)  # it comes in, and is not read
            arrived = dot.newest_send_time()
            dot.run_timers()
            expect(dot.entry(chat)).to_have_attribute("data-unread", "1")
            expect(dot.page).to_have_title("(1) IM")
            assert not [r for r in dot.reads if r["read_up_to"] >= arrived], dot.reads
            assert env.api.inbox_entry("dot", chat)["unread"] == 1
            expect(cal.seen).not_to_contain_text(text)

            # Dot looks again: now it is read.
            dot.back(how)
            expect(dot.entry(chat)).to_have_attribute("data-unread", "0")
            expect(dot.page).to_have_title("IM")
            expect(cal.seen).to_contain_text(text)
        only_forward(dot.reads)
