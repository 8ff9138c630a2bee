"""What every browser test stands on: `Env` (the stack, the browser, the API) and `Screen` (one
member's signed-in tab, failing the test on any console error), the `@test` registry the runner
(messenger_test.py) walks, and the small facts tests share (`room`, the viewports, `Skip`).
"""

import re
from contextlib import contextmanager

from playwright.sync_api import expect

from stack import Api, ApiError, serve_web_from_disk

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
    """Registers `fn(env)` with the runner: tests run in the order their modules define them."""
    TESTS.append(fn)
    return fn
