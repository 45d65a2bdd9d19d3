"""The widget in a real browser: embedded with one tag, chatting, handoff, live rep replies, restart, rating, safety."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from relaydesk.agent.responder import ingest_documents
from relaydesk.agent.sample import SAMPLE_KB_DIR
from relaydesk.core.models import Message
from relaydesk.core.states import Action
from tests.widget.conftest import Relaydesk, ShopSite, running_relaydesk

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# A host page that tries hard to restyle everything: the widget's shadow root must keep it out.
HOSTILE_CSS = "* { font-size: 31px !important; color: #f0f !important; } button { display: none !important; }"


def shop_page(desk: Relaydesk, *, attributes: str = "") -> str:
    return (
        '<!doctype html><html><head><meta name="viewport" content="width=device-width">'
        f"<title>Larkbox shop</title><style>{HOSTILE_CSS}</style></head>"
        f"<body><h1>Larkbox shop</h1>"
        f'<script src="{desk.url}/widget.js" data-token="{desk.widget_token}" {attributes} async></script>'
        f"</body></html>"
    )


WIDGET = {"bot_name": "Lark", "suggested_questions": ["How do I change my plan?", "Where is my Dock?"]}


@pytest_asyncio.fixture(loop_scope="module")
async def desk(tmp_path: Path) -> AsyncIterator[Relaydesk]:
    """relaydesk without its workers: the test writes the AI's and the reps' messages through the core."""
    async with running_relaydesk(tmp_path, in_process_workers=False) as running:
        await running.set_workspace_settings(widget=WIDGET)
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def agent_desk(tmp_path: Path) -> AsyncIterator[Relaydesk]:
    """relaydesk with the agent at work, answering from the sample knowledge base."""
    async with running_relaydesk(tmp_path) as running:
        await running.set_workspace_settings(widget=WIDGET)
        await ingest_documents(running.settings, running.workspace_id, str(SAMPLE_KB_DIR))
        yield running


async def new_page(browser: Any, **context: Any) -> Any:
    page = await browser.new_page(**{"viewport": {"width": 1200, "height": 800}, **context})
    page.set_default_timeout(10_000)
    return page


async def open_shop(browser: Any, desk: Relaydesk, shop: ShopSite, *, attributes: str = "", **context: Any) -> Any:
    """A page on another site that embeds the widget with its one tag, with the chat panel open."""
    page = await new_page(browser, **context)
    shop.html = shop_page(desk, attributes=attributes)
    await page.goto(shop.origin)
    await page.locator(".launcher").click()
    await page.locator("textarea").first.wait_for()
    return page


async def say(page: Any, text: str) -> None:
    await page.locator(".composer textarea").fill(text)
    await page.keyboard.press("Enter")


async def visitor_session(desk: Relaydesk, *, messages: int = 1) -> str:
    """The id of the widget's session, once it holds `messages` visitor messages."""
    for _ in range(200):
        sessions = await desk.conversations.list_sessions(desk.workspace_id)
        if sessions:
            stored = await desk.conversations.messages_after(desk.workspace_id, sessions[0].id)
            if sum(m.author == "visitor" and m.kind == "text" for m in stored) >= messages:
                return sessions[0].id
        await asyncio.sleep(0.05)
    raise AssertionError(f"the widget did not store {messages} visitor message(s)")


async def start_chat(browser: Any, desk: Relaydesk, shop: ShopSite, question: str) -> tuple[Any, str]:
    """The shop page with the visitor's first question asked and stored, and the session it opened."""
    page = await open_shop(browser, desk, shop)
    await say(page, question)
    return page, await visitor_session(desk)


async def shown_seqs(page: Any) -> list[int]:
    return [int(seq) for seq in await page.locator("[data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")]


async def test_page_on_an_allowed_site_embeds_the_widget_with_one_tag(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    await desk.set_workspace_settings(allowed_origins=[shop.origin])
    page = await new_page(browser)
    shop.html = shop_page(desk)
    await page.goto(shop.origin)
    launcher = page.locator(".launcher")
    await launcher.wait_for()
    assert await launcher.get_attribute("aria-label") == "Open chat"
    await page.screenshot(path=screenshots / "01-launcher.png")

    await launcher.click()
    greeting = page.locator(".row .bub").first
    await greeting.wait_for()
    assert await greeting.inner_text() == "Hi! How can we help you today?"
    assert await greeting.evaluate("el => getComputedStyle(el).fontSize") == "14px"
    assert await page.locator(".chips button").all_inner_texts() == ["How do I change my plan?", "Where is my Dock?"]
    assert await page.evaluate("document.activeElement.id") == "relaydesk-widget"
    await page.screenshot(path=screenshots / "02-open-greeting.png")

    await page.keyboard.press("Escape")
    await page.locator(".panel").wait_for(state="hidden")
    await page.close()


async def test_page_on_a_site_not_on_the_list_gets_no_widget(browser: Any, desk: Relaydesk, shop: ShopSite) -> None:
    await desk.set_workspace_settings(allowed_origins=["https://www.larkbox.example"])
    page = await new_page(browser)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    shop.html = shop_page(desk)
    await page.goto(shop.origin)
    await page.wait_for_timeout(500)
    assert await page.locator(".launcher").count() == 0
    assert any("relaydesk" in error for error in errors)
    await page.close()


async def test_visitor_gets_the_ai_answer_then_the_handoff_notice(
    browser: Any, agent_desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page = await open_shop(browser, agent_desk, shop)
    await page.locator(".chips button", has_text="How do I change my plan?").click()
    answer = page.locator(".row:not(.me) .bub", has_text="Settings → Plan")
    await answer.wait_for(timeout=30_000)
    assert await answer.locator("a").first.get_attribute("href") == "https://help.larkbox.example/change-plan"
    await expect(page.locator(".chips")).to_be_hidden()
    await expect(page.locator(".typing")).to_be_hidden()
    await page.screenshot(path=screenshots / "03-ai-answer.png")

    await say(page, "I want to talk to a person")
    await page.locator(".ev", has_text="Connecting you to a person…").wait_for(timeout=15_000)
    await expect(page.locator(".who p")).to_have_text("Connecting you to a person…")
    session = (await agent_desk.conversations.list_sessions(agent_desk.workspace_id))[0]
    assert session.state == "handed_off"
    await page.screenshot(path=screenshots / "04-handoff.png")
    await page.close()


async def test_custom_components_render_with_built_in_and_page_renderers(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page = await open_shop(browser, desk, shop)
    await page.evaluate(
        """relaydesk.registerComponent("order", (data, { h }) =>
             h("div", { class: "cmp in", "data-order": data.id }, "Order " + data.id + ": " + data.status))"""
    )
    await say(page, "Where is my order?")
    session_id = await visitor_session(desk)
    components = [
        {"key": "order", "data": {"id": "A-1042", "status": "shipped"}},
        {"key": "table", "data": {"columns": ["Plan", "Storage"], "rows": [["Solo", "2 TB"], ["Family", "6 TB"]]}},
        {"key": "unknown-widget", "data": {}, "text": "Your plan: Solo, 2 TB"},
    ]
    for component in components:
        await desk.post(session_id, author="ai", component=component)
    await page.locator(".bub", has_text="Your plan: Solo, 2 TB").wait_for()
    assert await page.locator("[data-order]").inner_text() == "Order A-1042: shipped"
    assert await page.locator(".cmp td").all_inner_texts() == ["Solo", "2 TB", "Family", "6 TB"]
    await page.screenshot(path=screenshots / "12-components.png")
    await page.close()


async def test_rep_reply_appears_without_a_reload(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page, session_id = await start_chat(browser, desk, shop, "My Dock blinks orange")
    await page.evaluate("window.stillTheSamePage = true")
    await desk.conversations.transition(desk.workspace_id, session_id, Action.REP_JOIN, actor="rep", actor_name="Maya")
    await desk.post(
        session_id,
        author="rep",
        author_name="Maya",
        text="Hi, I'm Maya. Orange means the Dock is syncing; give it ten minutes.",
        html="<p>Hi, I'm Maya. <strong>Orange</strong> means the Dock is syncing; give it ten minutes.</p>",
    )
    await page.locator(".ev", has_text="Maya joined the conversation").wait_for()
    reply = page.locator(".bub.html", has_text="Orange means the Dock is syncing")
    await reply.wait_for()
    assert await reply.locator("strong").inner_text() == "Orange"
    assert await page.evaluate("window.stillTheSamePage") is True
    await expect(page.locator(".who p")).to_have_text("Maya")
    await page.screenshot(path=screenshots / "05-rep-reply.png")
    await page.close()


async def test_widget_catches_up_after_a_server_restart_without_gap_or_duplicate(
    browser: Any, desk: Relaydesk, shop: ShopSite
) -> None:
    page, session_id = await start_chat(browser, desk, shop, "Is anyone there?")
    await desk.post(session_id, author="ai", text="Yes, I'm here. What do you need?")
    await page.locator(".bub", has_text="What do you need?").wait_for()

    await desk.restart()
    for text in ("Missed while you were away (1)", "Missed while you were away (2)"):
        await desk.post(session_id, author="ai", text=text)
    await page.locator(".bub", has_text="(2)").wait_for(timeout=20_000)
    await say(page, "Thanks, got both")
    await page.locator(".row.me:not(.pending) .bub", has_text="got both").wait_for()
    await page.wait_for_timeout(300)

    stored: list[Message] = await desk.conversations.messages_after(desk.workspace_id, session_id)
    seqs = await shown_seqs(page)
    assert seqs == [m.seq for m in stored]
    assert await page.locator(".bub", has_text="(1)").count() == 1
    assert await page.locator(".bub", has_text="got both").count() == 1
    await page.close()


async def test_csat_after_resolving_is_stored_on_the_session(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page, session_id = await start_chat(browser, desk, shop, "How long do refunds take?")
    await desk.post(session_id, author="ai", text="Refunds reach your card within 5–10 days.")
    await page.locator(".bub", has_text="5–10 days").wait_for()
    await page.get_by_role("button", name="Mark as resolved").click()
    await page.locator(".ev", has_text="Conversation resolved").wait_for()
    card = page.locator(".csat")
    await card.wait_for()
    await page.screenshot(path=screenshots / "06-csat-card.png")

    await card.get_by_role("button", name="2/5").click()
    await card.locator("textarea").fill("It took three tries to get an answer.")
    await page.screenshot(path=screenshots / "07-csat-comment.png")
    await card.get_by_role("button", name="Send").click()
    await page.locator(".ev", has_text="Thank you for your feedback!").wait_for()
    await page.screenshot(path=screenshots / "08-csat-thanks.png")

    session = await desk.conversations.get_session(desk.workspace_id, session_id)
    assert (session.state, session.resolved_by) == ("resolved", "visitor")
    assert (session.csat_score, session.csat_comment) == (2, "It took three tries to get an answer.")
    await page.close()


async def test_script_in_a_message_is_shown_as_text(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page = await open_shop(browser, desk, shop)
    attack = '<script>window.hacked = 1</script><img src=x onerror="window.hacked = 2">'
    await say(page, attack)
    session_id = await visitor_session(desk)
    await desk.post(
        session_id,
        author="rep",
        author_name="Maya",
        text="bold move",
        html='<b>bold</b> move<script>window.hacked = 3</script><img src=x onerror="window.hacked = 4">',
    )
    mine = page.locator(".row.me .bub").last
    await page.locator(".bub.html", has_text="bold").wait_for()
    assert await mine.inner_text() == attack
    assert await mine.locator("script, img").count() == 0
    assert await page.locator(".bub.html b").inner_text() == "bold"
    assert await page.locator(".bub.html script, .bub.html img").count() == 0
    assert await page.evaluate("window.hacked") is None
    await page.screenshot(path=screenshots / "09-script-as-text.png")
    await page.close()


async def test_arabic_reads_right_to_left(browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path) -> None:
    page = await open_shop(browser, desk, shop, attributes='data-language="ar"')
    wrap = page.locator(".rd")
    assert await wrap.get_attribute("dir") == "rtl"
    assert await page.locator(".composer textarea").get_attribute("placeholder") == "اكتب رسالة…"
    await say(page, "كيف أغير خطتي؟")
    session_id = await visitor_session(desk)
    await desk.post(session_id, author="ai", text="افتح الإعدادات ثم اختر الخطة.")
    await page.locator(".bub", has_text="افتح الإعدادات").wait_for()
    panel = await page.locator(".panel").bounding_box()
    assert panel is not None and panel["x"] < 600
    session = await desk.conversations.get_session(desk.workspace_id, session_id)
    assert session.language == "ar"
    await page.screenshot(path=screenshots / "10-arabic-rtl.png")
    await page.close()


async def test_panel_fills_a_phone_screen_in_dark_mode(
    browser: Any, desk: Relaydesk, shop: ShopSite, screenshots: Path
) -> None:
    page = await open_shop(
        browser, desk, shop, viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True, has_touch=True
    )
    box = await page.locator(".panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    assert await page.locator(".rd").get_attribute("data-theme") == "dark"
    await say(page, "Where is my Dock?")
    await page.locator(".row.me:not(.pending)").wait_for()
    await page.screenshot(path=screenshots / "11-mobile-dark.png")
    await page.close()


async def test_demo_page_serves_the_widget(browser: Any, desk: Relaydesk, screenshots: Path) -> None:
    page = await new_page(browser, viewport={"width": 1280, "height": 820})
    await page.goto(f"{desk.url}/demo?token={desk.widget_token}")
    await page.locator(".launcher").click()
    await page.locator(".composer textarea").wait_for()
    await page.screenshot(path=screenshots / "00-demo-page.png")
    await page.close()
