#!/usr/bin/env python3
"""The web messenger in a real browser (headless Chromium driven by Playwright) against real
processes: a fresh MariaDB database, two rpc-servers and the http-server that serves the page.
Each test asserts what a person would notice, waiting on facts (what the page shows, what the
API stores), never on time.

Run by scripts/test-browser. Settings: IM_TEST_MYSQL_URL (default mysql://root@127.0.0.1:13306),
IM_RPC_SERVER_BIN / IM_HTTP_SERVER_BIN (default target/debug), CHROMIUM (default
/usr/bin/chromium), IM_BROWSER_SCREENSHOTS=1 (also save docs/web/*.png), IM_BROWSER_PAGE_FROM_DISK=1
(serve web/ from disk in front of the http-server: for work on the page without a rebuild).

The tests live by subject in the *_test.py files beside this one, the page helpers they share in
harness.py; this file runs them all, in one order, on one stack and one browser, and prints a
line for each and a summary.
"""

import os
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import TESTS, Env, Skip  # noqa: E402
from screenshots import take_screenshots  # noqa: E402
from stack import Stack, serve_web_from_disk  # noqa: E402

# Each registers its tests with @test on import: this order is the run's.
import conversation_test  # noqa: E402,F401
import faults_test  # noqa: E402,F401
import sign_in_test  # noqa: E402,F401
import read_markers_test  # noqa: E402,F401
import layout_and_states_test  # noqa: E402,F401

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def page_is_served(base):
    """True, or why the page cannot be had from `base`."""
    try:
        with urllib.request.urlopen(base + "/") as answer:
            return True if b"/js/main.js" in answer.read() else f"GET {base}/ is not the messenger"
    except urllib.error.HTTPError as e:
        return (f"GET {base}/ answers {e.code}: this http-server does not serve the page (built "
                "before web/ existed, or IM_WEB is off); rebuild it or set IM_BROWSER_PAGE_FROM_DISK=1")


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
