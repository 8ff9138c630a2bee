#!/usr/bin/env python3
"""The web messenger in a real browser (headless Chromium driven by Playwright) against real
processes: a fresh MariaDB database, two rpc-servers and the http-server that serves the page.
Each test asserts what a person would notice, waiting on facts (what the page shows, what the
API stores), never on time.

Run by scripts/test-browser. Settings: IM_TEST_MYSQL_URL (default mysql://root@127.0.0.1:13306),
IM_RPC_SERVER_BIN / IM_HTTP_SERVER_BIN (default target/debug), CHROMIUM (default
/usr/bin/chromium), IM_BROWSER_SCREENSHOTS=1 (also save docs/web/*.png), IM_BROWSER_PAGE_FROM_DISK=1
(serve web/ from disk in front of the http-server: for work on the page without a rebuild).
"""

import json
import os
import re
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, Api, ApiError, Stack, serve_web_from_disk  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# What Chromium logs for an answer with an error status, or for none at all (net::...):
# expected in the tests that cause them.
FAILED_LOAD = re.compile(r"Failed to load resource: (?:the server responded with a status of (\d+)|net::)")

expect.set_options(timeout=15_000)


class Skip(Exception):
    pass


def room(a, b):
    """The room form of a chat (members sorted byte-wise), as the server stores it."""
    x, y = sorted([a, b], key=lambda m: m.encode())
    return f"{x}:{y}"


class Screen:
    """One member's browser tab, signed in, with every console error and page error it showed."""

    def __init__(self, env, member, viewport=DESKTOP, base=None, tolerate=(), token=None,
                 clock=False):
        self.member = member
        # HTTP statuses (or "net" for no answer at all) whose "Failed to load resource" is expected
        self.tolerate = set(tolerate)
        self.access_missing = env.access_missing
        self.context = env.browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        # Every POST /api/read the page sent, in order: the bodies.
        self.reads = []
        self.page.on("request", lambda r: self.reads.append(r.post_data_json)
                     if r.method == "POST" and r.url.endswith("/api/read") else None)
        if clock:  # the page's timers, run ahead on demand (Page.clock.run_for): no waiting
            self.page.clock.install()
        self.page.goto((base or env.page) + "/")
        if token:  # mode jwt without the demo issuer: the member is the token's
            self.page.get_by_test_id("signin-token").fill(token)
            self.page.get_by_test_id("signin-submit").click()
        else:
            self.page.get_by_test_id("signin-name").fill(member)
            self.page.get_by_test_id("signin-name").press("Enter")
        expect(self.page.get_by_test_id("me")).to_have_text(member)

    def _console(self, message):
        if message.type != "error":
            return
        failed = FAILED_LOAD.search(message.text)
        if failed and (failed.group(1) or "net") in self.tolerate:
            return
        url = message.location.get("url", "")
        if failed and failed.group(1) == "404" and url.endswith("/api/access") and self.access_missing:
            return  # an http-server from before access control: the page assumes mode none
        self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def start_chat(self, other):
        self.page.get_by_test_id("new-chat-name").fill(other)
        self.page.get_by_test_id("new-chat-name").press("Enter")
        expect(self.page.get_by_test_id("chat-name")).to_have_text(other)

    def entry(self, chat):
        return self.page.locator(f'[data-testid="inbox-entry"][data-chat="{chat}"]')

    def send(self, text):
        composer = self.page.get_by_test_id("composer")
        composer.fill(text)
        composer.press("Enter")
        expect(composer).to_have_value("")

    @property
    def stored(self):
        """The texts of the messages the server confirmed, in the order shown."""
        return self.page.locator('[data-testid="message"][data-send-time] [data-testid="message-text"]')

    @property
    def pending(self):
        return self.page.locator('[data-testid="message"][data-pending]')

    @property
    def status(self):
        return self.page.get_by_test_id("status")

    @property
    def seen(self):
        """The message "Seen" stands under."""
        return self.page.get_by_test_id("seen").locator("xpath=preceding-sibling::li[1]")

    def newest_send_time(self):
        return int(self.page.locator("[data-send-time]").last.get_attribute("data-send-time"))

    def away(self, how):
        """The person stops looking: the tab is hidden, or another window has the focus."""
        self.page.evaluate(AWAY[how])

    def back(self, how):
        self.page.evaluate(BACK[how])

    def run_timers(self):
        """Runs every timer of the page due in the next 5 s now (a mark read, a debounce)."""
        self.page.clock.run_for(5_000)


# Headless Chromium has no real tab switch or window focus to take away: the page is told so the
# way a browser tells it (the properties it reads, then the event).
AWAY = {
    "hidden": """() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        Object.defineProperty(document, "hidden", { value: true, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    }""",
    "unfocused": """() => {
        document.hasFocus = () => false;
        window.dispatchEvent(new Event("blur"));
    }""",
}
BACK = {
    "hidden": """() => {
        delete document.visibilityState;
        delete document.hidden;
        document.dispatchEvent(new Event("visibilitychange"));
    }""",
    "unfocused": """() => {
        delete document.hasFocus;
        window.dispatchEvent(new Event("focus"));
    }""",
}


def only_forward(reads):
    """Each chat's marker was sent strictly increasing: never backwards, never twice."""
    sent = {}
    for body in reads:
        sent.setdefault(body["chat"], []).append(body["read_up_to"])
    for chat, values in sent.items():
        assert all(a < b for a, b in zip(values, values[1:])), f"{chat}: marks sent {values}"


class Env:
    def __init__(self, stack, base, page, browser):
        self.stack = stack
        self.base = base  # the http-server
        self.page = page  # where the page is loaded from: the http-server itself, unless from disk
        self.api = Api(base)
        self.browser = browser
        try:
            self.api.call("GET", "/api/access")
            self.access_missing = False
        except ApiError as e:
            if e.status != 404:
                raise
            self.access_missing = True

    def page_of(self, base):
        """Where to load the page served by another http-server `base`."""
        return serve_web_from_disk(base) if self.page != self.base else base

    @contextmanager
    def screens(self):
        """Opens screens with `open(member, ...)`; closes them all at the end and fails the test
        if any showed a console error or a page error."""
        opened = []

        def open_screen(member, **options):
            screen = Screen(self, member, **options)
            opened.append(screen)
            return screen

        try:
            yield open_screen
            for screen in opened:
                # Only the inbox and the timeline scroll, never the page around them.
                if not screen.page.evaluate("document.scrollingElement.scrollHeight <= innerHeight"):
                    screen.errors.append("the page as a whole scrolls: something overflows the layout")
        finally:
            for screen in opened:
                screen.context.close()
        errors = [f"{s.member}: {e}" for s in opened for e in s.errors]
        assert not errors, "the page logged errors:\n  " + "\n  ".join(errors)


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


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


@test
def a_crash_of_every_rpc_server_loses_repeats_and_reorders_nothing(env):
    chat = room("gus", "hal")
    with env.screens() as screen:
        gus = screen("gus", tolerate={"502", "503", "504"})
        hal = screen("hal", tolerate={"502", "503", "504"})
        gus.start_chat("hal")
        gus.send("before the crash")
        hal.entry(chat).click()
        hal.send("still before")
        expect(gus.stored).to_have_text(["before the crash", "still before"])

        env.stack.kill_rpc_servers()
        gus.send("typed while the servers are down")
        expect(gus.status).to_contain_text("Server unreachable — retrying")
        expect(gus.pending).to_have_text([re.compile("typed while the servers are down")])
        expect(gus.pending).to_have_attribute("data-state", "waiting")
        expect(hal.status).to_contain_text("Server unreachable")

        env.stack.start_rpc_servers()
        history = ["before the crash", "still before", "typed while the servers are down"]
        for who in (gus, hal):
            expect(who.stored).to_have_text(history, timeout=40_000)
            expect(who.pending).to_have_count(0)
            expect(who.status).not_to_contain_text("unreachable", timeout=40_000)
        hal.send("after the restart")
        history.append("after the restart")
        for who in (gus, hal):
            expect(who.stored).to_have_text(history)
        assert [m["text"] for m in env.api.history(chat)] == history


@test
def a_crash_of_the_http_server_shows_then_heals(env):
    base = env.stack.start_http_server("http-server-crash")
    port = int(base.rsplit(":", 1)[1])
    page = env.page_of(base)
    chat = room("oli", "pat")
    with env.screens() as screen:
        oli = screen("oli", base=page, tolerate={"net", "502"})
        pat = screen("pat", base=page, tolerate={"net", "502"})
        oli.start_chat("pat")
        oli.send("knock knock")
        pat.entry(chat).click()
        expect(pat.stored).to_have_text(["knock knock"])

        env.stack.kill_http_server(base)
        oli.send("who is there?")
        expect(oli.status).to_contain_text("Server unreachable — retrying")
        expect(oli.pending).to_have_attribute("data-state", "waiting")

        env.stack.start_http_server("http-server-crash", port=port)
        history = ["knock knock", "who is there?"]
        for who in (oli, pat):
            expect(who.stored).to_have_text(history, timeout=40_000)
            expect(who.pending).to_have_count(0)
        pat.send("the server, back again")
        history.append("the server, back again")
        for who in (oli, pat):
            expect(who.stored).to_have_text(history)
    assert [m["text"] for m in env.api.history(chat)] == history


@test
def a_send_answered_503_after_it_was_stored_is_stored_once(env):
    chat = room("ivy", "jo")
    sends, held = [], []

    def on_send(route):
        sends.append(route.request.post_data_json)
        if len(sends) == 1:
            route.fetch()  # the server stores it; the answer is lost on the way back
            route.fulfill(status=503, content_type="application/json",
                          body='{"code":2,"msg":"unavailable (forced by the test)"}')
        else:
            route.continue_()

    def on_pull(route):
        # Waiting pulls are held, so the page learns of the stored copy only by its retry.
        if "wait_ms" in route.request.url:
            held.append(route)
        else:
            route.continue_()

    with env.screens() as screen:
        ivy, jo = screen("ivy", tolerate={"503"}), screen("jo")
        ivy.page.route("**/api/send", on_send)
        pulls = re.compile(r"/api/pull\?")
        ivy.page.route(pulls, on_pull)
        ivy.start_chat("jo")
        ivy.send("exactly once, please")
        expect(ivy.stored).to_have_text(["exactly once, please"])
        expect(ivy.pending).to_have_count(0)
        assert len(sends) == 2, f"{len(sends)} sends"
        assert sends[0]["client_msg_id"] == sends[1]["client_msg_id"], sends

        # The held pull now brings the same message: still shown once. The page has taken that
        # answer in when it asks for what comes after the message.
        after = int(ivy.page.locator("[data-send-time]").get_attribute("data-send-time")) + 1
        ivy.page.unroute(pulls)
        with ivy.page.expect_request(lambda r: f"cursor={after}&" in r.url and "wait_ms" in r.url):
            for route in held:
                route.continue_()
        expect(ivy.stored).to_have_text(["exactly once, please"])
        jo.entry(chat).click()
        expect(jo.stored).to_have_text(["exactly once, please"])
        stored = env.api.history(chat)
        assert [m["text"] for m in stored] == ["exactly once, please"], stored
        assert stored[0].get("client_msg_id") == sends[0]["client_msg_id"]


@test
def sends_over_the_rate_limit_wait_out_retry_after_and_arrive_once_in_order(env):
    base = env.stack.start_http_server("http-server-rate", IM_RATE_SEND="1", IM_RATE_SEND_BURST="1")
    chat = room("mo", "nia")
    texts = ["one", "two", "three"]
    with env.screens() as screen:
        mo = screen("mo", base=env.page_of(base), tolerate={"429"})
        mo.start_chat("nia")
        for text in texts:
            mo.send(text)
        expect(mo.status).to_contain_text("Too many requests — retrying")
        expect(mo.stored).to_have_text(texts)
        expect(mo.pending).to_have_count(0)
    assert [m["text"] for m in env.api.history(chat)] == texts


@test
def signing_in_in_mode_jwt_by_name_through_the_demo_issuer_or_with_a_token(env):
    if env.access_missing:
        raise Skip("this http-server predates GET /api/access (404), so it has no mode jwt")
    secret = env.stack.tmp / "hs256.secret"
    secret.write_text(os.urandom(24).hex())
    base = env.stack.start_http_server("http-server-jwt", IM_AUTH="jwt",
                                       IM_AUTH_HS256_SECRET_FILE=str(secret),
                                       IM_AUTH_DEMO_ISSUER="true")
    page = env.page_of(base)
    info = Api(base).call("GET", "/api/access")
    assert info == {"mode": "jwt", "demo_issuer": True}, info
    try:
        Api(base).call("GET", "/api/chats", {"member": "kim"})
        raise AssertionError("a listing without a token was answered")
    except ApiError as e:
        assert e.status == 401, e

    chat = room("kim", "lee")
    with env.screens() as screen:
        kim = screen("kim", base=page, tolerate={"401"})
        lee = screen("lee", base=page)
        seen = []
        kim.page.on("request", lambda r: seen.append((r.url, r.headers.get("authorization"))))
        kim.start_chat("lee")
        kim.send("signed in with a demo token")
        expect(kim.stored).to_have_text(["signed in with a demo token"])
        lee_api = Api(base, Api(base).demo_token("lee"))
        assert [m["text"] for m in lee_api.history(chat)] == ["signed in with a demo token"]
        lee.entry(chat).click()
        expect(lee.stored).to_have_text(["signed in with a demo token"])

        # A token the server refuses (as after its hour) is replaced by a fresh one, unseen.
        refused = []

        def refuse_once(route):
            if refused:
                return route.continue_()
            refused.append(route.request.url)
            route.fulfill(status=401, content_type="application/json",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                          body='{"code":11,"msg":"unauthenticated (forced by the test)"}')

        kim.page.route("**/api/send", refuse_once)
        with kim.page.expect_request("**/api/demo/token"):
            kim.send("after a new token")
        expect(lee.stored).to_have_text(["signed in with a demo token", "after a new token"])
        expect(kim.stored).to_have_text(["signed in with a demo token", "after a new token"])
        api_calls = [(u, a) for u, a in seen if "/api/" in u and "/api/demo/token" not in u]
        assert api_calls and all(a and a.startswith("Bearer ") for _, a in api_calls), api_calls
        token = json.loads(kim.page.evaluate("sessionStorage.getItem('im.session')"))["token"]
        assert token and not any(token in u for u, _ in seen), "a token went into a URL"

    # Without the demo issuer, the page takes a token; one signed with the same secret works.
    strict = env.stack.start_http_server("http-server-jwt-strict", IM_AUTH="jwt",
                                         IM_AUTH_HS256_SECRET_FILE=str(secret))
    assert Api(strict).call("GET", "/api/access") == {"mode": "jwt", "demo_issuer": False}
    with env.screens() as screen:
        lee = screen("lee", base=env.page_of(strict), token=Api(base).demo_token("lee"))
        lee.entry(chat).click()
        lee.send("and with a token of my own")
        expect(lee.stored).to_have_text(["signed in with a demo token", "after a new token",
                                         "and with a token of my own"])


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


def scroll_width(who):
    return who.page.evaluate("document.documentElement.scrollWidth")


def cut_short(locator):
    """Whether the element shows its text with an ellipsis (all of it does not fit)."""
    return locator.evaluate("n => getComputedStyle(n).textOverflow === 'ellipsis' && n.scrollWidth > n.clientWidth")


@test
def a_64_character_name_never_widens_the_page_at_phone_width(env):
    long = "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Cholmondeley"[:64]
    assert len(long.encode()) == 64
    chat = room(long, "eda")
    env.api.send(chat, long, "Hello from a very long name")
    with env.screens() as screen:
        eda = screen("eda", viewport=PHONE)
        expect(eda.entry(chat)).to_contain_text("Hello from a very long name")
        assert scroll_width(eda) <= PHONE["width"], scroll_width(eda)
        assert cut_short(eda.entry(chat).get_by_test_id("inbox-name"))
        eda.entry(chat).click()
        name = eda.page.get_by_test_id("chat-name")
        expect(name).to_have_text(long)
        assert scroll_width(eda) <= PHONE["width"], scroll_width(eda)
        assert cut_short(name)
        # "‹ Chats" stays on one line.
        lines = eda.page.get_by_test_id("back").evaluate(
            "n => { const r = document.createRange(); r.selectNodeContents(n); return r.getClientRects().length; }")
        assert lines == 1, f"the back link takes {lines} lines"

        # The member with the long name, on a phone: the top bar, the list, the chat.
        longer = screen(long, viewport=PHONE)
        expect(longer.entry(chat)).to_be_visible()
        assert scroll_width(longer) <= PHONE["width"], scroll_width(longer)
        longer.entry(chat).click()
        expect(longer.stored).to_have_text(["Hello from a very long name"])
        assert scroll_width(longer) <= PHONE["width"], scroll_width(longer)


@test
def nothing_is_called_empty_before_the_server_said_so(env):
    chat = room("fay", "gil")
    env.api.send(chat, "gil", "There is a message here")
    mode, held = {"calls": "hold"}, []

    def on_call(route):
        if mode["calls"] == "hold":
            held.append(route)
        else:
            route.fulfill(status=503, content_type="application/json",
                          body='{"code":2,"msg":"unavailable (forced by the test)"}')

    with env.screens() as screen:
        fay = screen("fay", tolerate={"503"})
        inbox = fay.page.get_by_test_id("inbox-placeholder")
        timeline = fay.page.get_by_test_id("chat-placeholder")
        calls = re.compile(r"/api/(chats|pull)\?")
        fay.page.route(calls, on_call)
        # Fay comes back (a reload) and the server has not answered yet: loading, not "no chats"
        # and not "no messages".
        fay.page.reload()
        expect(inbox).to_have_text("Loading…")
        fay.page.evaluate(f"location.hash = '#/chat/{chat}'")
        expect(timeline).to_have_text("Loading…")

        # The servers cannot be reached: said so.
        mode["calls"] = "503"
        for route in held:
            on_call(route)
        expect(inbox).to_have_text("Can't reach the server")
        expect(timeline).to_have_text("Can't reach the server")
        expect(fay.status).to_contain_text("Server unreachable — retrying")

        fay.page.unroute(calls)
        expect(fay.stored).to_have_text(["There is a message here"], timeout=30_000)
        expect(timeline).to_be_hidden()
        expect(fay.entry(chat)).to_be_visible(timeout=30_000)
        expect(inbox).to_be_hidden()

        # What the server says is empty is called empty.
        fay.start_chat("hal")
        expect(timeline).to_have_text("No messages yet. Say hello!")
        ida = screen("ida")
        expect(ida.page.get_by_test_id("inbox-placeholder")).to_have_text("No chats yet. Start one above.")


@test
def a_forbidden_answer_shows_the_error_not_an_empty_state_and_disables_the_composer(env):
    if env.access_missing:
        raise Skip("this http-server predates GET /api/access (404), so it has no mode jwt")
    secret = env.stack.tmp / "hs256-forbidden.secret"
    secret.write_text(os.urandom(24).hex())
    base = env.stack.start_http_server("http-server-jwt-forbidden", IM_AUTH="jwt",
                                       IM_AUTH_HS256_SECRET_FILE=str(secret),
                                       IM_AUTH_DEMO_ISSUER="true")
    with env.screens() as screen:
        ivo = screen("ivo", base=env.page_of(base), tolerate={"403"})
        # A session that names another member than its token's: every call of that member is
        # refused by the server (403).
        ivo.page.evaluate("""() => {
            const session = JSON.parse(sessionStorage.getItem("im.session"));
            sessionStorage.setItem("im.session", JSON.stringify({ ...session, member: "jax" }));
            location.hash = "#/chat/jax:kai";
        }""")
        ivo.page.reload()
        page = ivo.page
        expect(page.get_by_test_id("me")).to_have_text("jax")
        expect(page.locator("#inbox-error")).to_contain_text("Not allowed")
        expect(page.get_by_test_id("chat-error")).to_contain_text("Not allowed")
        expect(page.get_by_test_id("inbox-placeholder")).to_be_hidden()
        expect(page.get_by_test_id("chat-placeholder")).to_be_hidden()
        expect(page.get_by_test_id("composer")).to_be_disabled()
        expect(page.get_by_test_id("send")).to_be_disabled()

        # A chat the token may read opens, and is empty; sending stays off for this session.
        page.evaluate("location.hash = '#/chat/ivo:jax'")
        expect(page.get_by_test_id("chat-placeholder")).to_have_text("No messages yet. Say hello!")
        expect(page.get_by_test_id("composer")).to_be_disabled()
        expect(page.get_by_test_id("send")).to_be_disabled()

        # A listing that first worked ("No chats yet": true then), then is refused: the error,
        # no longer the empty list.
        kai = screen("kai", tolerate={"403"})
        kai.start_chat("lin")
        expect(kai.page.get_by_test_id("inbox-placeholder")).to_have_text("No chats yet. Start one above.")
        expect(kai.page.get_by_test_id("composer")).to_be_enabled()
        kai.page.route(re.compile(r"/api/chats\?"), lambda route: route.fulfill(
            status=403, content_type="application/json",
            body='{"code":13,"msg":"forbidden (forced by the test)"}'))
        env.api.send(room("kai", "lin"), "lin", "wakes kai's listing")
        expect(kai.page.locator("#inbox-error")).to_contain_text("Not allowed")
        expect(kai.page.get_by_test_id("inbox-placeholder")).to_be_hidden()
        expect(kai.page.get_by_test_id("composer")).to_be_disabled()


# The contrast of an element's text against the background it sits on (WCAG's ratio).
CONTRAST = """n => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = (c) => {
        const [r, g, b] = rgb(c).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let bg = n;
    while (getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)") bg = bg.parentElement;
    const [a, b] = [lum(getComputedStyle(n).color), lum(getComputedStyle(bg).backgroundColor)];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def plain_to_see(message):
    """A pending message is not faded, and its label is large and contrasted enough to read."""
    label = message.get_by_test_id("message-state")
    expect(label).to_be_visible()
    assert message.evaluate("n => getComputedStyle(n).opacity") == "1"
    assert label.evaluate("n => parseFloat(getComputedStyle(n).fontSize)") >= 12
    ratio = label.evaluate(CONTRAST)
    assert ratio >= 4.5, f"the label's contrast is {ratio:.1f}:1"


@test
def a_queued_message_says_queued_and_pending_states_are_plain_to_see(env):
    chat = room("lou", "max")
    mode, held = {"sends": "hold"}, []

    def on_send(route):
        if mode["sends"] == "hold":
            held.append(route)
        elif mode["sends"] == "refuse":
            route.fulfill(status=422, content_type="application/json",
                          body='{"code":1,"msg":"refused (forced by the test)"}')
        else:
            route.continue_()

    with env.screens() as screen:
        lou = screen("lou", tolerate={"422"})
        lou.page.route("**/api/send", on_send)
        lou.start_chat("max")
        lou.send("first")
        lou.send("second")
        first, second = lou.pending.nth(0), lou.pending.nth(1)
        expect(first).to_have_attribute("data-state", "sending")
        expect(first.get_by_test_id("message-state")).to_have_text("Sending…")
        # Behind the one being sent, the second is not being sent: it says so.
        expect(second).to_have_attribute("data-state", "queued")
        expect(second.get_by_test_id("message-state")).to_have_text("Queued")
        plain_to_see(first)
        plain_to_see(second)

        mode["sends"] = "pass"
        for route in held:
            route.continue_()
        expect(lou.stored).to_have_text(["first", "second"])
        expect(lou.pending).to_have_count(0)

        mode["sends"] = "refuse"
        lou.send("third")
        failed = lou.pending.first
        expect(failed).to_have_attribute("data-state", "failed")
        expect(failed.get_by_test_id("message-state")).to_contain_text("Not sent. Refused: refused (forced by the test)")
        plain_to_see(failed)
        failed.get_by_role("button", name="Discard").click()
        expect(lou.pending).to_have_count(0)
    assert [m["text"] for m in env.api.history(chat)] == ["first", "second"]


def page_is_served(base):
    """True, or why the page cannot be had from `base`."""
    try:
        with urllib.request.urlopen(base + "/") as answer:
            return True if b"/js/main.js" in answer.read() else f"GET {base}/ is not the messenger"
    except urllib.error.HTTPError as e:
        return (f"GET {base}/ answers {e.code}: this http-server does not serve the page (built "
                "before web/ existed, or IM_WEB is off); rebuild it or set IM_BROWSER_PAGE_FROM_DISK=1")


def take_screenshots(env):
    """docs/web/*.png: a realistic conversation on a desktop and on a phone."""
    out = ROOT / "docs" / "web"
    out.mkdir(parents=True, exist_ok=True)
    api = env.api
    talk = [
        ("leo", "Morning! Are we still on for the design review at 3?"),
        ("maya", "Yes, I moved it to the small room: the big one is taken."),
        ("leo", "Perfect. I'll bring the new inbox mockups."),
        ("maya", "Great. Could you also send the numbers from yesterday's load test?"),
        ("leo", "Sure: 10.5k sends/s on two replicas, p99 under 40 ms."),
        ("maya", "Nice, way better than last week!"),
        ("leo", "And the inbox now costs about +50% per message, down from +100%."),
        ("leo", "Slides are in the shared folder → review/inbox.pdf"),
    ]
    api.send(room("maya", "noor"), "noor", "Thanks for the review!")
    api.send(room("maya", "noor"), "maya", "Anytime. The retry logic reads well now.")
    for sender, text in talk[:-2]:
        sent = api.send(room("maya", "leo"), sender, text)
    # Leo has read all of it: Maya's page shows "Seen" under her last message.
    api.mark_read(room("maya", "leo"), "leo", sent["send_time"])
    with env.screens() as screen:
        maya = screen("maya")
        # Maya has read her chat with Leo; then, while she looks at another, two more arrive.
        maya.entry(room("maya", "leo")).click()
        expect(maya.stored).to_have_count(len(talk) - 2)
        maya.entry(room("maya", "noor")).click()
        expect(maya.stored).to_have_count(2)
        for sender, text in talk[-2:]:
            api.send(room("maya", "leo"), sender, text)
        api.send(room("maya", "sam"), "sam", "Lunch at 12:30? The new place on 5th.")
        expect(maya.entry(room("maya", "sam"))).to_have_attribute("data-unread", "1")
        expect(maya.entry(room("maya", "leo"))).to_contain_text(talk[-1][1])
        maya.entry(room("maya", "leo")).click()
        expect(maya.stored).to_have_count(len(talk))
        expect(maya.page.get_by_test_id("unseen-divider")).to_be_visible()
        expect(maya.seen).to_contain_text(talk[5][1])
        # Leaving the chat with Noor marked it read: its count is gone once the listing says so.
        expect(maya.entry(room("maya", "noor"))).to_have_attribute("data-unread", "0")
        maya.page.get_by_test_id("composer").fill("Thanks! See you at 3.")
        maya.page.screenshot(path=str(out / "messenger-desktop.png"))
        maya.page.set_viewport_size(PHONE)
        maya.page.screenshot(path=str(out / "messenger-phone.png"))
    print(f"screenshots saved in {out.relative_to(ROOT)}/")


def main():
    # A timeout's SIGTERM ends the run through `finally`: no server or database is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mysql_url = os.environ.get("IM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:13306")
    ci = os.environ.get("CI") == "true"
    passed = failed = skipped = 0
    stack = Stack(mysql_url)
    try:
        stack.start_rpc_servers()
        base = stack.start_http_server()
        page = base
        if os.environ.get("IM_BROWSER_PAGE_FROM_DISK") == "1":
            page = serve_web_from_disk(base)
            print(f"note: the page comes from web/ on disk through {page}, not from the http-server")
        served = page_is_served(page)
        if served is not True:
            # Every test would wait for a sign-in form that never comes: say why once.
            print(f"FAILED  all {len(TESTS)} tests: {served}")
            print(f"0 passed, {len(TESTS)} failed")
            return 1
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            env = Env(stack, base, page, browser)
            for fn in TESTS:
                started = time.monotonic()
                try:
                    fn(env)
                except Skip as reason:
                    if ci:
                        failed += 1
                        print(f"FAILED  {fn.__name__}: skipped under CI=true: {reason}")
                    else:
                        skipped += 1
                        print(f"skipped {fn.__name__}: {reason}")
                    continue
                except Exception:
                    failed += 1
                    print(f"FAILED  {fn.__name__} ({time.monotonic() - started:.1f} s)")
                    traceback.print_exc(file=sys.stdout)
                    continue
                passed += 1
                print(f"ok      {fn.__name__} ({time.monotonic() - started:.1f} s)")
            if os.environ.get("IM_BROWSER_SCREENSHOTS") == "1":
                take_screenshots(env)
            browser.close()
    finally:
        stack.close()
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
