"""Real-browser tests: Debian's chromium driven by playwright against a real server on 127.0.0.1.

Screenshots go to test-artifacts/. Every test also checks that the page asked nothing of the outside world.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.auth import UserStore
from assistant.feedback import FeedbackLog, feedback_path
from assistant.service import Assistant
from assistant.webapp import ModelWarmup
from tests.test_webapp_api import ROOT, Server, StartServer, serve_assistants

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
JOINT = "Which technologies were named for joint ventures?"
LAST_BOT_TEXT = """() => {
  const bots = document.querySelectorAll('#ma-chat [data-testid="bot"]');
  return bots.length ? bots[bots.length - 1].innerText : "";
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing: make browser"),
]


@pytest.fixture
def start_server(make_assistant: Callable[..., Assistant], seed_corpus: Path) -> Iterator[StartServer]:
    yield from serve_assistants(make_assistant)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []
    outside: list[str] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else outside.append(r.url)
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert outside == [], f"the page contacted the outside world: {outside}"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def ask(page: Any, question: str) -> float:
    page.fill("#ma-question textarea", question)
    started = time.monotonic()
    page.click("#ma-send")
    return started


def wait_first_words(page: Any, timeout_ms: int) -> None:
    page.wait_for_function(
        f"() => ({LAST_BOT_TEXT})().replace('▍', '').trim().length > 0", timeout=timeout_ms
    )


def test_model_warm_up_is_shown_and_the_answer_streams_with_a_citation(
    start_server: StartServer, new_page: Callable[[], Any]
) -> None:
    answer = "The leaders named AI and semiconductors for joint ventures [1]."

    warmed = threading.Event()

    def slow_model() -> FakeListChatModel:
        warmed.wait(60)  # the language model "warms up" until the test has seen the page say so
        # slow enough that the draft is still streaming when the page is checked, even on a busy machine
        return FakeListChatModel(responses=[answer] * 4, sleep=0.15)

    server = start_server(chat_model=slow_model, warm=False)
    ModelWarmup(server.assistant).start()
    page = new_page()
    page.goto(server.url)
    page.wait_for_selector("#ma-question textarea")
    assert "warming up" in page.inner_text("#ma-status")
    page.get_by_text(JOINT).click()  # one of the example questions
    # whether or not the evidence is already shown, the status says the answer waits for the model
    page.wait_for_function(
        "() => document.querySelector('#ma-status').innerText.toLowerCase()"
        ".includes('waiting for the language model to warm up')"
    )
    warmed.set()
    wait_first_words(page, 30_000)
    assert "▍" in page.evaluate(LAST_BOT_TEXT)  # streaming: evidence and draft show before the checked answer
    page.wait_for_selector("#ma-chat .ma-trace")  # only the checked answer has "How this answer was made"
    text = page.evaluate(LAST_BOT_TEXT)
    assert "semiconductors" in text and "[1]" in text and "Sources (1)" in text and "▍" not in text
    assert "joint ventures in critical technologies" in page.inner_text("#ma-chat mark")
    assert "Answered in" in page.inner_text("#ma-status")
    shot(page, "browser-streamed-answer")
    page.get_by_role("button", name="Dislike").last.click()
    page.wait_for_function("() => document.querySelector('#ma-status').innerText.includes('Thanks')")
    page.fill("#ma-comment textarea", "AI should come first.")
    page.get_by_role("button", name="Send comment").click()
    page.wait_for_function("() => document.querySelector('#ma-status').innerText.includes('Comment saved')")
    [entry] = FeedbackLog(feedback_path(server.assistant.settings)).entries()
    assert (
        entry["rating"] == "down"
        and entry["question"] == JOINT
        and entry["comment"] == "AI should come first."
    )
    page.click("#ma-new")
    # the question's own text is in the chat too, so wait for the chat to empty before looking for examples
    page.wait_for_function("() => document.querySelectorAll('#ma-chat [data-testid=\"bot\"]').length === 0")
    page.wait_for_selector(f"text={JOINT}")  # the examples are back


def test_upload_a_document_then_ask_about_it_and_its_html_stays_text(
    start_server: StartServer, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    answer = "The hydrogen working group met on the Kyoto ferry [1]."
    server = start_server(responses=[answer] * 4)
    note = tmp_path / "hydrogen-note.txt"
    note.write_text(
        "The hydrogen working group met on the Kyoto ferry to discuss fuel cells. "
        '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">\n'
    )
    page = new_page()
    page.goto(server.url)
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_selector("#ma-admin")  # shown by the page's load event, as a user sees it
    page.set_input_files("#ma-upload input[type=file]", str(note))
    page.wait_for_selector("#ma-upload >> text=hydrogen-note.txt")
    page.click("#ma-add")
    page.wait_for_selector("#ma-upload-result >> text=ready to ask about")
    assert "hydrogen-note.txt" in page.inner_text("#ma-docs")
    shot(page, "browser-upload")
    assert (server.assistant.settings.corpus_dir / "hydrogen-note.txt").exists()
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Where did the hydrogen working group meet?")
    page.wait_for_selector("#ma-chat .ma-sources")
    sources = page.inner_text("#ma-chat .ma-sources")
    assert "hydrogen-note.txt" in sources
    assert "<script>window.__xss = 1</script>" in sources  # shown as text...
    assert page.evaluate("window.__xss") is None  # ...and never run
    assert page.locator("#ma-chat img[src=x]").count() == 0
    shot(page, "browser-upload-answer")


def login(page: Any, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#ma-question textarea")


def test_reader_finds_no_upload_and_admin_does(
    start_server: StartServer, new_page: Callable[[], Any], tmp_path: Path
) -> None:
    users = UserStore(tmp_path / "users.yaml", sleep=lambda s: None)
    users.add("ann", "admin-password", "admin")
    users.add("rob", "reader-password", "reader")
    server = start_server(users=users)
    reader = new_page()
    reader.goto(server.url)
    assert reader.locator("#ma-question").count() == 0  # the login page comes first
    login(reader, server.url, "rob", "reader-password")
    reader.wait_for_selector("#ma-who >> text=(reader)")
    ask(reader, "What tariff rate was agreed?")  # readers may chat; this one the documents don't answer
    reader.wait_for_selector("#ma-chat .ma-refusal")
    assert "Why:" in reader.inner_text("#ma-chat .ma-refusal")
    shot(reader, "browser-refusal")
    reader.get_by_role("tab", name="Documents").click()
    reader.wait_for_function("() => document.querySelector('#ma-docs').innerText.includes('meeting-article')")
    assert reader.get_by_text("Only an admin can add or remove documents.").is_visible()
    assert reader.locator("#ma-upload").count() == 0 and reader.locator("#ma-add").count() == 0
    assert reader.get_by_role("button", name="Remove").count() == 0
    shot(reader, "browser-reader-documents")
    admin = new_page()
    login(admin, server.url, "ann", "admin-password")
    admin.get_by_role("tab", name="Documents").click()
    admin.wait_for_selector("#ma-upload")
    assert admin.get_by_role("button", name="Remove").is_visible()


@pytest.mark.llm
def test_real_model_exchange_in_the_browser(
    start_server: StartServer, new_page: Callable[[], Any], real_llm: Any
) -> None:
    server: Server = start_server(chat_model=real_llm, warm=False)
    page = new_page()
    page.goto(server.url)
    ModelWarmup(server.assistant).start().wait()  # as `assistant serve` does: load, then prime the prompt
    page.wait_for_selector("#ma-status >> text=Ready")
    started = ask(page, JOINT)
    page.wait_for_selector("#ma-chat .ma-sources", timeout=240_000)  # the evidence, before the model
    evidence = time.monotonic() - started
    wait_first_words(page, 240_000)
    first_words = time.monotonic() - started
    page.wait_for_selector("#ma-chat .ma-trace", timeout=240_000)  # the checked answer
    total = time.monotonic() - started
    text = page.evaluate(LAST_BOT_TEXT)
    shot(page, "browser-real-exchange")
    page.locator("#ma-chat .ma-sources").last.scroll_into_view_if_needed()
    page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))  # the README's picture, kept current
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-timings.txt").write_text(
        f"question: {JOINT}\nevidence seen in the browser after {evidence:.1f} s\n"
        f"first words seen after {first_words:.1f} s\n"
        f"checked answer with sources after {total:.1f} s\nanswer: {text}\n"
    )
    print(f"\nbrowser: evidence after {evidence:.1f} s, checked answer after {total:.1f} s")
    assert "semiconductor" in text.lower() and "[1]" in text and "Sources (" in text
    assert page.locator("#ma-chat mark").count() >= 1


EVAL_SET = ROOT / "tests" / "data" / "three-questions.yaml"


def test_evaluation_tab_admin_runs_a_set_and_turns_a_thumbs_down_into_a_case_reader_gets_nothing(
    start_server: StartServer, new_page: Callable[[], Any], tmp_path: Path, users: UserStore
) -> None:
    import shutil

    from gradio_client.exceptions import AppError

    questions = tmp_path / "eval" / "questions.yaml"
    questions.parent.mkdir()
    shutil.copy(EVAL_SET, questions)
    shutil.copy(ROOT / "eval" / "thresholds.yaml", questions.parent)
    drafts = ["AI and semiconductors [1].", "Shigeru Ishiba [1].", "NOT IN DOCUMENTS"] * 4
    server = start_server(users=users, responses=drafts, eval_questions=questions)

    reader = new_page()
    login(reader, server.url, "rob", "reader-password")
    reader.wait_for_selector("#ma-who >> text=(reader)")
    assert reader.get_by_role("tab", name="Evaluation").count() == 0
    with pytest.raises(AppError, match="Only an admin"):  # nor through the API
        server.client(auth=("rob", "reader-password")).predict("all", api_name="/eval_start")
    assert not list((server.assistant.settings.data_dir / "eval-runs").glob("*"))

    admin = new_page()
    login(admin, server.url, "ann", "admin-password")
    ask(admin, "Which former prime minister is mentioned?")
    admin.wait_for_selector("#ma-chat .ma-trace")
    admin.get_by_role("button", name="Dislike").last.click()
    admin.wait_for_function("() => document.querySelector('#ma-status').innerText.includes('Thanks')")
    admin.get_by_role("tab", name="Evaluation").click()
    admin.locator("#ma-eval-run").click()
    admin.wait_for_selector('.ma-eval-progress[data-state="done"]', timeout=120_000)
    admin.wait_for_function(
        "() => document.querySelector('#ma-eval-scores').innerText.includes('key_fact_accuracy')"
    )
    assert "3 cases" in admin.inner_text("#ma-eval-scores")
    admin.locator('#ma-eval-cases [role="gridcell"]', has_text="ans-abe-01").first.click()
    admin.wait_for_function("() => document.querySelector('#ma-eval-case').innerText.includes('Shinzo Abe')")
    shot(admin, "browser-eval-finished")

    admin.locator('#ma-eval-feedback [role="gridcell"]', has_text="Which former prime minister").first.click()
    admin.wait_for_selector("#ma-eval-editor")
    admin.locator("#ma-eval-gold").get_by_text("Shinzo Abe").first.click()
    admin.fill("#ma-eval-reference textarea", "Shinzo Abe.")
    admin.fill("#ma-eval-facts textarea", "abe")
    admin.locator("#ma-eval-save").click()
    admin.wait_for_function("() => document.querySelector('#ma-eval-saved').innerText.includes('Added')")
    shot(admin, "browser-eval-new-case")
    added = questions.read_text().split("- id: ")[-1]
    assert added.startswith("ans-fb-which-former") and "Shinzo Abe" in added and "- abe" in added
    assert (questions.parent / "questions.yaml.bak").is_file()
