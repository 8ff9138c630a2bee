"""Signing in under mode jwt: by name through the demo issuer, with a token of one's own, and a
refused token replaced without the person noticing.
"""

import json
import os

from playwright.sync_api import expect

from harness import Skip, room, test
from stack import Api, ApiError


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
