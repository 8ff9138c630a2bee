"""Conversation basics: the page as served, two members talking live, paging back through a
long history, and text that is only ever text.
"""

import urllib.error
import urllib.request

from playwright.sync_api import expect

from harness import PHONE, room, test
from stack import ROOT


@test
def the_page_is_web_as_it_is_now_with_its_safety_headers(env):
    def get(path):
        try:
            with urllib.request.urlopen(env.page + path) as answer:
                return answer.headers, answer.read()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"GET {path}: {e.code}: this http-server does not serve the page "
                                 "(built before web/ existed, or IM_WEB is off)") from None

    headers, _ = get("/")
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, f"CSP of /: {csp!r}"
    assert headers.get("X-Content-Type-Options") == "nosniff", headers
    web = ROOT / "web"
    files = sorted(f for f in web.rglob("*") if f.is_file())
    assert sum(f.stat().st_size for f in files) < 100 * 1024, "web/ is over 100 KiB"
    for file in files:
        path = "/" + file.relative_to(web).as_posix()
        _, body = get("/" if path == "/index.html" else path)
        # The http-server compiles web/ in: a stale binary would test an older page.
        assert body == file.read_bytes(), f"{path} differs from web/: rebuild the http-server"


@test
def two_members_converse_without_reloading(env):
    with env.screens() as screen:
        ann, ben = screen("ann"), screen("ben", viewport=PHONE)
        chat = room("ann", "ben")
        ann.start_chat("ben")
        ann.send("Hi Ben! Lunch today?")

        # Ben's inbox learns of the chat by its waiting listing: no reload, marked as unseen.
        entry = ben.entry(chat)
        expect(entry).to_contain_text("Hi Ben! Lunch today?")
        expect(entry).to_have_attribute("data-unread", "1")
        # On a phone the chat is a screen of its own, opened (by keyboard) from the inbox.
        expect(ben.page.get_by_test_id("chat")).to_be_hidden()
        entry.focus()
        ben.page.keyboard.press("Enter")
        expect(ben.page.get_by_test_id("inbox-list")).to_be_hidden()
        expect(ben.stored).to_have_text(["Hi Ben! Lunch today?"])
        divider = ben.page.get_by_test_id("unseen-divider")
        expect(divider).to_be_visible()
        expect(ben.page.get_by_test_id("composer")).to_be_focused()
        ben.page.get_by_test_id("back").click()
        expect(entry).to_be_focused()
        expect(entry).to_have_attribute("data-unread", "0")
        ben.page.keyboard.press("Enter")
        # Seen now: opened again, nothing is marked new.
        expect(ben.stored).to_have_text(["Hi Ben! Lunch today?"])
        expect(divider).to_have_count(0)
        ben.send("Sure, 12:30 at the usual place?")
        expect(ann.stored).to_have_text(["Hi Ben! Lunch today?", "Sure, 12:30 at the usual place?"])
        ann.send("Perfect.")
        ann.send("See you there\nand bring the slides")
        want = ["Hi Ben! Lunch today?", "Sure, 12:30 at the usual place?", "Perfect.",
                "See you there\nand bring the slides"]
        for who in (ann, ben):
            expect(who.stored).to_have_text(want)
            expect(who.pending).to_have_count(0)
        expect(ann.entry(chat)).to_contain_text("See you there")
        assert [m["text"] for m in env.api.history(chat)] == want


@test
def scrolling_up_loads_older_pages_without_gap_or_repeat(env):
    chat = room("cy", "dee")
    texts = [f"message {i:02d} of 95" for i in range(1, 96)]
    for i, text in enumerate(texts):
        env.api.send(chat, "cy" if i % 2 == 0 else "dee", text)

    with env.screens() as screen:
        dee = screen("dee")
        dee.entry(chat).click()
        shown = dee.stored
        expect(shown.last).to_have_text(texts[-1])
        timeline = dee.page.get_by_test_id("timeline")
        while shown.count() < len(texts):
            # To the top, unless a page is loading: then the oldest shown is about to change.
            expect(timeline).to_have_attribute("aria-busy", "false")
            top = timeline.evaluate("""el => el.getAttribute("aria-busy") === "true" ? null
                : (el.scrollTop = 0, [el.querySelector("[data-send-time]").dataset.sendTime,
                                      el.querySelectorAll("[data-send-time]").length])""")
            if top is None:
                continue
            oldest, count = top
            expect(shown).not_to_have_count(count)
            expect(timeline).to_have_attribute("aria-busy", "false")
            # The position is kept: what was the oldest message is still in view.
            expect(dee.page.locator(f'[data-send-time="{oldest}"]')).to_be_in_viewport()
        expect(shown).to_have_text(texts)
        timeline.evaluate("el => { el.scrollTop = 0; }")
        expect(shown.first).to_be_in_viewport()
        expect(dee.page.get_by_test_id("older")).to_be_hidden()


@test
def html_in_a_message_is_shown_as_text_and_runs_nothing(env):
    texts = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=1</script>",
             "<b>bold</b> & &amp; \u202eRTL \U0001F600"]
    chat = room("eve", "finn")
    with env.screens() as screen:
        eve, finn = screen("eve"), screen("finn")
        eve.start_chat("finn")
        for text in texts:
            eve.send(text)
        finn.entry(chat).click()
        for who in (eve, finn):
            expect(who.stored).to_have_count(len(texts))
            assert who.stored.evaluate_all("nodes => nodes.map(n => n.textContent)") == texts
            assert who.page.evaluate("window.__pwned") is None
            messages = who.page.get_by_test_id("messages")
            expect(messages.locator("img, script, b")).to_have_count(0)
        preview = finn.entry(chat).get_by_test_id("inbox-preview")
        assert preview.evaluate("n => n.textContent") == texts[-1]
