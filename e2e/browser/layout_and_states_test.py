"""Layout and states: long names at phone width, loading / unreachable / empty / forbidden told
apart, and pending messages that say plainly where they stand.
"""

import os
import re

from playwright.sync_api import expect

from harness import PHONE, Skip, room, test


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
