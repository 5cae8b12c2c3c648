"""Loaders: every supported format read from real files built here, and every failure a one-line message."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from assistant.errors import LoaderError
from assistant.loaders import SUPPORTED_SUFFIXES, iter_corpus_files, load_document

JAPANESE = (
    "日米首脳会談\n"
    "\n"
    "石破茂首相は米国を訪問し、トランプ大統領と初めての首脳会談を行った。"
    "両首脳は日米同盟の強化を確認し、日本企業による米国への投資や、液化天然ガスの輸入拡大について意見を交わした。\n"
    "安倍晋三元首相とトランプ氏の個人的な関係にも触れた。\n"
)


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def pdf_bytes(pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text line per page, with a correct xref table."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, line in enumerate(pages):
        stream = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % line.encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % title.encode("latin-1"))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out.write(b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def encrypted_pdf(user_password: str, owner_password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(["Confidential briefing on tariffs"]))))
    writer.encrypt(user_password, owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None, title: str = "") -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    document.add_paragraph("Closing remarks were brief.")
    document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def error_of(path: Path, max_bytes: int | None = None) -> str:
    with pytest.raises(LoaderError) as caught:
        load_document(path, path.name, max_bytes)
    return str(caught.value)


# --- iter_corpus_files ---------------------------------------------------------------------------------


def test_iter_corpus_files_recurses_sorted_and_skips_hidden(tmp_path: Path) -> None:
    names = ["b.txt", "a.md", "sub/c.pdf", "sub/deep/d.exe", ".hidden.txt", ".git/x.txt", "sub/.x/e.md"]
    for name in names:
        write(tmp_path, name, "x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)]
    assert found == ["a.md", "b.txt", "sub/c.pdf", "sub/deep/d.exe"]


def test_iter_corpus_files_of_a_file_is_that_file(tmp_path: Path) -> None:
    path = write(tmp_path, ".notes.txt", "x")
    assert iter_corpus_files(path) == [path]


# --- text and markdown ---------------------------------------------------------------------------------


def test_utf8_text_with_bom_and_crlf(tmp_path: Path) -> None:
    raw = "\ufeffLeaders meet in Washington\r\n\r\nThe prime minister met the president.\r\n".encode()
    path = write(tmp_path, "meeting.txt", raw)
    document = load_document(path, "notes/meeting.txt")
    assert document.source == "notes/meeting.txt"
    assert document.title == "Leaders meet in Washington"
    assert document.text == "Leaders meet in Washington\n\nThe prime minister met the president."
    assert document.content_hash == hashlib.sha256(raw).hexdigest()
    assert document.metadata == {}


def test_markdown_is_kept_as_is_and_titled_by_its_first_heading(tmp_path: Path) -> None:
    text = "Draft, do not circulate\n\n# Summit summary\n\n## Energy\n\n- More LNG exports.\n"
    document = load_document(write(tmp_path, "summary.md", text), "summary.md")
    assert document.title == "Summit summary"
    assert document.text == text.strip()


@pytest.mark.parametrize("encoding", ["shift_jis", "euc_jp", "iso2022_jp"])
def test_japanese_legacy_encodings_decode_exactly(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, f"kaidan-{encoding}.txt", JAPANESE.encode(encoding))
    document = load_document(path, path.name)
    assert document.text == JAPANESE.strip()
    assert document.title == "日米首脳会談"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("会議メモ", "euc_jp"),
        ("日米首脳会談の要旨", "euc_jp"),
        ("石破首相はトランプ大統領と会談した。", "shift_jis"),
    ],
)
def test_short_japanese_is_not_read_as_korean(tmp_path: Path, text: str, encoding: str) -> None:
    path = write(tmp_path, "short.txt", text.encode(encoding))
    assert load_document(path, "short.txt").text == text


def test_utf16_with_bom_decodes(tmp_path: Path) -> None:
    path = write(tmp_path, "notepad.txt", "Unicode from Notepad: 日米\r\n".encode("utf-16"))
    assert load_document(path, "notepad.txt").text == "Unicode from Notepad: 日米"


def test_latin1_text_decodes(tmp_path: Path) -> None:
    text = "Café réunion à Genève: the délégués discussed the accord über alles, naïvely, for hours.\n" * 3
    document = load_document(write(tmp_path, "cafe.txt", text.encode("latin-1")), "cafe.txt")
    assert "Café réunion à Genève" in document.text


def test_front_matter_gives_title_and_metadata_and_is_not_text(tmp_path: Path) -> None:
    text = (
        "---\ntitle: U.S.-Japan summit\ndate: 2025-02-07\nauthor: Staff writer\npages: 3\n"
        "tags: [trade, energy]\n---\n# A heading that is not the title\n\nBody text.\n"
    )
    document = load_document(write(tmp_path, "summit.md", text), "summit.md")
    assert document.title == "U.S.-Japan summit"
    assert document.metadata == {"date": "2025-02-07", "author": "Staff writer", "pages": "3"}
    assert document.text == "# A heading that is not the title\n\nBody text."


def test_front_matter_without_title_falls_back_to_heading(tmp_path: Path) -> None:
    text = "---\nauthor: A. Writer\n---\n\n# The real title\n\nBody.\n"
    document = load_document(write(tmp_path, "x.md", text), "x.md")
    assert (document.title, document.metadata) == ("The real title", {"author": "A. Writer"})


@pytest.mark.parametrize(
    ("front", "expected"),
    [("title: [unclosed\n", "malformed front matter at line 3"), ("just a sentence\n", "key: value")],
)
def test_malformed_front_matter_is_an_error(tmp_path: Path, front: str, expected: str) -> None:
    path = write(tmp_path, "bad.md", f"---\n{front}---\nBody.\n")
    message = error_of(path)
    assert "bad.md has malformed front matter" in message
    assert expected in message


def test_long_first_sentence_falls_back_to_the_humanised_file_name(tmp_path: Path) -> None:
    text = "The prime minister travelled to Washington for a first meeting with the president.\nMore.\n"
    document = load_document(write(tmp_path, "meeting-article.txt", text), "meeting-article.txt")
    assert document.title == "Meeting article"


# --- HTML ---------------------------------------------------------------------------------------------


def test_html_drops_scripts_and_keeps_words_apart(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Summit  report</title><style>p {color: red}</style>"
        "<script>var secret = 'tracking';</script></head><body>"
        "<h1>Heading one</h1><p>Leaders met in <b>Washington</b>.</p><!-- editor note --><p>Second</p>"
        "<script>document.write('injected words')</script><p>paragraph</p>"
        "<noscript>Enable JavaScript</noscript><template><p>hidden template</p></template>"
        "<ul><li>Energy</li><li>Investment</li></ul></body></html>"
    )
    document = load_document(write(tmp_path, "report.html", html), "report.html")
    assert document.title == "Summit report"
    assert document.text == "Heading one\nLeaders met in Washington.\nSecond\nparagraph\nEnergy\nInvestment"


def test_html_collapses_blank_lines_and_titles_by_h1(tmp_path: Path) -> None:
    html = "<body>\n\n\n  <h1>Only  heading</h1>\n\n\n\n<div>\n  text   here\n</div>\n</body>"
    document = load_document(write(tmp_path, "page.htm", html), "page.htm")
    assert document.title == "Only heading"
    assert document.text == "Only heading\ntext here"


# --- PDF ----------------------------------------------------------------------------------------------


def test_pdf_pages_are_joined_and_counted(tmp_path: Path) -> None:
    data = pdf_bytes(["Leaders discussed tariffs.", "They agreed on energy exports."], title="Summit notes")
    document = load_document(write(tmp_path, "notes.pdf", data), "notes.pdf")
    assert document.text == "Leaders discussed tariffs.\n\nThey agreed on energy exports."
    assert document.title == "Summit notes"
    assert document.metadata == {"pages": "2"}


def test_pdf_written_by_matplotlib_is_read(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.text(0.1, 0.5, "Investment in manufacturing")
    path = tmp_path / "figure.pdf"
    figure.savefig(path, format="pdf")
    document = load_document(path, "figure.pdf")
    assert "Investment in manufacturing" in document.text
    assert document.title == "Investment in manufacturing"


def test_pdf_with_empty_user_password_is_decrypted(tmp_path: Path) -> None:
    path = write(tmp_path, "owner-only.pdf", encrypted_pdf("", owner_password="owner"))
    assert PdfReader(path).is_encrypted
    assert load_document(path, "owner-only.pdf").text == "Confidential briefing on tariffs"


def test_pdf_without_text_suggests_a_scan(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    message = error_of(write(tmp_path, "scan.pdf", out.getvalue()))
    assert message == "scan.pdf has no extractable text (scanned PDF?)"


# --- Word ---------------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    data = docx_bytes(
        ["Meeting minutes", "", "The leaders met at the White House."],
        table=[["Topic", "Outcome"], ["Energy", "More LNG"]],
        title="Minutes of the summit",
    )
    document = load_document(write(tmp_path, "minutes.docx", data), "minutes.docx")
    assert document.title == "Minutes of the summit"
    assert document.text == (
        "Meeting minutes\nThe leaders met at the White House.\nTopic | Outcome\nEnergy | More LNG\n"
        "Closing remarks were brief."
    )


def test_docx_merged_cells_are_read_once(tmp_path: Path) -> None:
    document = docx.Document()
    grid = document.add_table(rows=2, cols=2)
    merged = grid.cell(0, 0).merge(grid.cell(0, 1))
    merged.text = "Summit agenda"
    grid.cell(1, 0).text, grid.cell(1, 1).text = "Energy", "Tariffs"
    path = tmp_path / "agenda.docx"
    document.save(str(path))
    assert load_document(path, "agenda.docx").text == "Summit agenda\nEnergy | Tariffs"


def test_docx_without_core_title_uses_first_line(tmp_path: Path) -> None:
    document = load_document(write(tmp_path, "m.docx", docx_bytes(["Trade talks"])), "m.docx")
    assert document.title == "Trade talks"


# --- failures -----------------------------------------------------------------------------------------


def _random_bytes(size: int, without_nul: bool) -> bytes:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(size))
    return data.replace(b"\x00", b"\x01") if without_nul else data


def _zip_without_word_parts() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    return out.getvalue()


FAILURES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "unsupported": ("setup.exe", lambda: b"MZ\x90\x00binary", "unsupported file type '.exe' (supported: "),
    "no-suffix": ("README", lambda: b"hello", "unsupported file type (no extension)"),
    "empty-txt": ("empty.txt", lambda: b"", "empty.txt is empty"),
    "blank-md": ("blank.md", lambda: b"  \n\n\t\n", "blank.md is empty"),
    "front-matter-only": ("fm.md", lambda: b"---\ntitle: x\n---\n\n", "fm.md has no extractable text"),
    "empty-pdf": ("empty.pdf", lambda: b"", "empty.pdf is empty"),
    "binary-txt": ("image.txt", lambda: _random_bytes(4000, False), "does not look like a text"),
    "one-nul": ("nul.txt", lambda: b"Plain words. " * 50 + b"\x00", "nul.txt does not look like a text file"),
    "controls": ("ctl.md", lambda: bytes(range(1, 32)) * 20, "ctl.md does not look like a text file"),
    "binary-no-nul": ("noise.txt", lambda: _random_bytes(4000, True), "does not look like a text"),
    "encrypted-pdf": ("locked.pdf", lambda: encrypted_pdf("secret"), "locked.pdf is encrypted"),
    "truncated-pdf": ("cut.pdf", lambda: pdf_bytes(["Some words."])[:60], "cut.pdf is not a readable PDF"),
    "garbage-pdf": ("junk.pdf", lambda: b"%PDF-1.7\n" + _random_bytes(3000, False), "is not a readable PDF"),
    "text-as-docx": ("notes.docx", lambda: b"plain text, not a zip", "notes.docx is not a readable .docx"),
    "zip-as-docx": ("other.docx", _zip_without_word_parts, "other.docx is not a readable .docx"),
    "cut-docx": ("cut.docx", lambda: docx_bytes(["Words"])[:500], "cut.docx is not a readable .docx"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_failures_are_one_line_loader_errors(tmp_path: Path, case: str) -> None:
    name, make, expected = FAILURES[case]
    message = error_of(write(tmp_path, name, make()))
    assert expected in message
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message and str(tmp_path) not in message


def test_unsupported_message_lists_every_supported_type(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "archive.zip", b"PK"))
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


def test_max_bytes_names_the_size_and_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "word " * 600)  # 3,000 bytes
    assert error_of(path, max_bytes=1024) == "big.txt is too large: 2.9 KB (limit 1.0 KB)"
    assert error_of(path, max_bytes=2999) == "big.txt is too large: 3,000 bytes (limit 2,999 bytes)"
    assert load_document(path, "big.txt", max_bytes=3000).text.startswith("word word")


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    document = load_document(write(tmp_path, "SHOUT.TXT", "Quiet words in a loud file."), "SHOUT.TXT")
    assert document.text == "Quiet words in a loud file."
