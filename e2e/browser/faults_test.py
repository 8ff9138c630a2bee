"""Faults and retries: servers that crash and come back, an answer lost after the store, a
rate limit. Nothing typed is lost, repeated or reordered.
"""

import re

from playwright.sync_api import expect

from harness import room, test


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
