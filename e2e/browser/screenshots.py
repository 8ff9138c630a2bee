"""docs/web/*.png, taken after the tests when IM_BROWSER_SCREENSHOTS=1."""

from playwright.sync_api import expect

from harness import PHONE, room
from stack import ROOT


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
