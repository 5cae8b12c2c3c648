"""The ``assistant`` command: a thin layer over ``Assistant``; errors become one-line messages."""

from __future__ import annotations

import functools
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from assistant.errors import AssistantError
from assistant.types import Answer, Evidence, IngestReport, Token
from assistant.ui_format import split_quotes

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AssistantError as err:
            raise click.ClickException(str(err)) from None

    return wrapper  # type: ignore[return-value]


def _build(with_model_progress: bool = False, rebuild_stale_index: bool = False) -> Any:
    from assistant.factory import build_assistant

    click.echo("Loading the embedding model and the index...", err=True)
    return build_assistant(
        model_progress=_model_progress() if with_model_progress else None,
        rebuild_stale_index=rebuild_stale_index,
    )


def _model_progress() -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc="Assembling the model (once)")
        bar["bar"].update(done - bar["bar"].n)
        if done >= total:
            bar["bar"].close()

    return update


def _load_chain(assistant: Any) -> None:
    if not assistant.model_loaded:
        click.echo("Loading the language model...", err=True)
        assistant.chain  # noqa: B018  (loads it, with progress on first assembly)


def print_report(report: IngestReport) -> None:
    for outcome in report.outcomes:
        if outcome.status == "failed":
            click.secho(f"  failed   {outcome.message()}", fg="red", err=True)
        elif outcome.status != "unchanged":
            click.echo(f"  {outcome.status:<8} {outcome.source} ({outcome.chunks} chunks)")
    click.echo(f"Ingest: {report.summary()}")


@click.group()
@click.version_option(package_name="meeting-assistant")
def main() -> None:
    """The meeting assistant: ask questions about the documents in corpus/, with checked citations."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Drop the index and build it again from the files.")
@friendly_errors
def ingest(paths: Sequence[Path], rebuild: bool) -> None:
    """Index PATHS (default: the corpus folder): new and changed files in, removed files out."""
    from tqdm import tqdm

    assistant = _build(rebuild_stale_index=True)
    paths = list(paths)
    replaced = assistant.store.replaced
    if replaced is not None:  # built by an earlier version, or with other settings: rebuilt from the files
        elsewhere = [Path(s) for s in replaced if Path(s).is_absolute() and Path(s).is_file()]
        click.echo(
            f"The index was built with other settings; rebuilding it from the files ({len(replaced)} "
            "documents).",
            err=True,
        )
        paths = [*(paths or [assistant.settings.corpus_dir]), *elsewhere]
    with tqdm(total=0, unit="file", desc="Ingesting", file=sys.stderr) as bar:

        def progress(done: int, total: int, source: str) -> None:
            bar.total = total
            bar.set_postfix_str(source[-40:])
            bar.update(done - bar.n)

        report = assistant.ingest(paths or None, rebuild=rebuild, progress=progress)
    print_report(report)
    if report.failures() and not report.chunks_written and not report.count("unchanged"):
        sys.exit(1)


@main.command()
@friendly_errors
def docs() -> None:
    """List the indexed documents."""
    documents = _build().documents()
    if not documents:
        click.echo("No documents indexed. Add files to corpus/ and run: assistant ingest")
        return
    for doc in documents:
        click.echo(f"{doc.source}\n    {doc.title} | {doc.chunks} chunks | added {doc.added_at}")


@main.command()
@click.argument("source")
@friendly_errors
def remove(source: str) -> None:
    """Remove document SOURCE (as `assistant docs` names it); its file moves to data/removed/."""
    if not _build().remove_document(source):
        raise click.ClickException(f"No document named {source!r}. See: assistant docs")
    click.echo(f"Removed {source}")


@main.command()
@click.argument("query")
@click.option("-k", "--top", "k", default=5, show_default=True, help="How many passages.")
@friendly_errors
def search(query: str, k: int) -> None:
    """Show the passages that best match QUERY, with their scores."""
    for rank, passage in enumerate(_build().search(query, k), start=1):
        click.echo(f"{rank}. score {passage.score:.3f}  {passage.source} [{passage.start}:{passage.end}]")
        click.echo(textwrap.indent(textwrap.fill(passage.text, 100), "   "))


_WIDTH = 100


def _print_quotes(quotes: Sequence[tuple[str, str]]) -> None:
    """Evidence quotes as wrapped Markdown block quotes: ``> "the document's words" [1]``."""
    for quote, markers in quotes:
        line = f'"{quote}" {markers}'
        click.echo(
            textwrap.fill(line, _WIDTH, initial_indent="> ", subsequent_indent="> ", break_on_hyphens=False)
        )
        click.echo()


def _print_answer(answer: Answer, streamed: str) -> None:
    lead, quotes = split_quotes(answer.text)
    if answer.refused:
        click.secho(f"\n{lead}", fg="yellow")
        if answer.refusal_reason:
            click.echo(f"  ({answer.refusal_reason})")
        if not quotes:
            return
        click.echo()
    else:
        if streamed:
            click.secho("\nChecked answer:", bold=True)
        click.echo(textwrap.fill(lead, _WIDTH) + "\n")
    _print_quotes(quotes)
    if answer.unsupported and not answer.refused:
        click.secho(f"Removed as unsupported: {' | '.join(answer.unsupported)}", fg="yellow")
    if answer.citations:
        click.echo("Sources:")
    shown = {" ".join(quote.split()) for quote, _ in quotes}
    for c in answer.citations:
        click.echo(f"  [{c.number}] {c.title} ({c.source}, characters {c.start}-{c.end})")
        if " ".join(c.quote.split()) not in shown:
            click.echo(f"      \u201c{c.quote}\u201d")


def _stream_answer(assistant: Any, question: str, history: list[dict[str, str]]) -> Answer:
    """Print the evidence as soon as it is chosen, the draft as it is written, then the checked answer."""
    streamed = ""
    for event in assistant.stream(question, history):
        if isinstance(event, Evidence):
            click.secho("Evidence found (the answer is being written):", bold=True)
            _print_quotes(split_quotes(event.text)[1])
        elif isinstance(event, Token):
            streamed += event.text
            click.echo(event.text, nl=False)
        else:
            click.echo()
            _print_answer(event, streamed)
            return event
    raise click.ClickException("no answer")


@main.command()
@click.argument("question")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the whole Answer as one JSON object (with its outcome and its trace).",
)
@friendly_errors
def ask(question: str, as_json: bool) -> None:
    """Answer QUESTION from the documents: the evidence first, the draft as it streams, then the checked
    answer with its quotes and sources."""
    assistant = _build(with_model_progress=True)
    _load_chain(assistant)
    if as_json:
        click.echo(json.dumps(assistant.ask(question).to_dict(), ensure_ascii=False, indent=2))
        return
    _stream_answer(assistant, question, [])


@main.command()
@friendly_errors
def chat() -> None:
    """An interactive session that keeps the conversation (Ctrl-D or 'exit' to leave)."""
    assistant = _build(with_model_progress=True)
    _load_chain(assistant)
    history: list[dict[str, str]] = []
    click.echo("Ask about the documents. 'new' starts a new conversation, 'exit' leaves.")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if question in ("exit", "quit"):
            return
        if question == "new":
            history.clear()
            continue
        try:
            answer = _stream_answer(assistant, question, history)
        except AssistantError as err:
            click.secho(str(err), fg="red")
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


# --- web app (assistant/webapp.py, assistant/ui.py, assistant/auth.py) -------------------------------
@main.command()
@click.option("--host", default=None, help="Address to listen on (default: setting `host`, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default: setting `port`, 7860).")
@friendly_errors
def serve(host: str | None, port: int | None) -> None:
    """Start the web chat (Gradio) on the embedded defaults."""
    from assistant.webapp import serve as run_server

    run_server(host=host, port=port)


# --- evaluation (assistant/evaluation.py, assistant/eval_report.py) ---------------------------------
@main.command("eval")
@click.option(
    "--questions",
    type=click.Path(path_type=Path),
    default=Path("eval/questions.yaml"),
    show_default=True,
    help="The test question set (YAML).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("eval-report"),
    show_default=True,
    help="Folder for report.json, report.html, plots and the RAGAS JSONL export.",
)
@click.option("--compare", type=click.Path(path_type=Path), default=None, help="A previous report.json.")
@click.option(
    "--thresholds",
    type=click.Path(path_type=Path),
    default=None,
    help="Gate thresholds (default: thresholds.yaml beside the question set).",
)
@friendly_errors
def eval_command(questions: Path, out: Path, compare: Path | None, thresholds: Path | None) -> None:
    """Run the test question set through the chat chain, score it, write the report, apply the gate."""
    from assistant.evaluation import run_eval_command

    sys.exit(run_eval_command(questions=questions, out=out, compare=compare, thresholds=thresholds))


# --- benchmark (assistant/bench/) ------------------------------------------------------------------
def _sizes(_ctx: Any, _param: Any, value: str) -> list[int]:
    try:
        sizes = [int(v.replace("_", "")) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("give chunk counts separated by commas, e.g. 1000,10000") from None
    if not sizes or min(sizes) < 10:
        raise click.BadParameter("each size must be at least 10 chunks")
    return sizes


@main.command()
@click.option(
    "--sizes",
    default="1000,10000,100000",
    show_default=True,
    callback=_sizes,
    help="Corpus sizes in chunks, comma-separated.",
)
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), default=None, help="Write the results here."
)
@click.option(
    "--questions", default=3, show_default=True, type=click.IntRange(1), help="Answers timed per size."
)
@click.option(
    "--queries", default=100, show_default=True, type=click.IntRange(5), help="Searches timed per size."
)
@click.option(
    "--batch",
    default=2000,
    show_default=True,
    type=click.IntRange(10),
    help="Chunks whose ingest is timed at each size (all of them when the size is smaller).",
)
@click.option("--no-llm", is_flag=True, help="Skip the answer and memory stages (no language model).")
@click.option("--no-memory", is_flag=True, help="Skip the memory stage (`assistant serve` peak RSS).")
@click.option("--workdir", type=click.Path(path_type=Path), default=None, help="Keep the indexes here.")
@friendly_errors
def bench(
    sizes: list[int],
    json_path: Path | None,
    questions: int,
    queries: int,
    batch: int,
    no_llm: bool,
    no_memory: bool,
    workdir: Path | None,
) -> None:
    """Time ingest, retrieval, answers and memory against the raw libraries doing the same work."""
    from assistant.bench.runner import run_bench

    report = run_bench(
        sizes,
        questions,
        queries,
        batch,
        llm=not no_llm,
        memory=not no_memory,
        workdir=workdir,
        echo=lambda line: click.echo(line, err=True),
    )
    click.echo(report.table())
    if json_path:
        report.write_json(json_path)
        click.echo(f"Wrote {json_path}")
    for row in report.failures():
        click.secho(f"Missed target: {row.size:,} {row.stage} {row.metric}", fg="yellow")


# --- web app users and answer feedback (assistant/auth.py, assistant/feedback.py) --------------------
@main.group("users")
def users_group() -> None:
    """Who may log in to the web chat. Login is required once the users file has a user."""


def _user_store() -> Any:
    from assistant.auth import UserStore, users_path
    from assistant.config import Settings

    return UserStore(users_path(Settings()))


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["admin", "reader"]),
    default="reader",
    show_default=True,
    help="admin: may add and remove documents; reader: may only chat.",
)
@click.option("--replace", is_flag=True, help="Change the password and role of an existing user.")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked if not given."
)
@friendly_errors
def users_add(name: str, role: str, replace: bool, password: str) -> None:
    """Add user NAME (the password is asked twice and stored as a salted scrypt hash)."""
    store = _user_store()
    store.add(name, password, role, replace=replace)
    click.echo(f"Saved user {name} ({role}) in {store.path}. `assistant serve` now asks for a login.")


@users_group.command("remove")
@click.argument("name")
@friendly_errors
def users_remove(name: str) -> None:
    """Remove user NAME."""
    store = _user_store()
    if not store.remove(name):
        raise click.ClickException(f"No user named {name!r}. See: assistant users list")
    click.echo(f"Removed user {name}." + ("" if len(store) else " No users are left: login is off."))


@users_group.command("list")
@friendly_errors
def users_list() -> None:
    """List the users and their roles."""
    store = _user_store()
    if not len(store):
        click.echo(f"No users in {store.path}: the web chat needs no login.")
        return
    for name in store.names():
        click.echo(f"{name}\t{store.role(name)}")


@main.group("feedback")
def feedback_group() -> None:
    """Thumbs up/down and comments given in the web chat (data/feedback.jsonl)."""


@feedback_group.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@friendly_errors
def feedback_export(out: Path) -> None:
    """Write the thumbs-down answers to OUT as draft cases for eval/questions.yaml (TODO fields to fill)."""
    from assistant.config import Settings
    from assistant.feedback import FeedbackLog, feedback_path

    count = FeedbackLog(feedback_path(Settings())).export_drafts(out)
    click.echo(
        f"Wrote {count} draft case(s) to {out}. Fill in the TODOs, then move them to eval/questions.yaml."
    )


if __name__ == "__main__":  # pragma: no cover
    main()
