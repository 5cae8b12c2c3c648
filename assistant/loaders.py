"""Read one corpus file into a LoadedDocument (text, title, metadata), by suffix.

Every failure is a LoaderError with a one-line message naming the file and the problem, so the ingest
report can list it and go on with the other files.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from io import BytesIO
from pathlib import Path

import charset_normalizer
import docx
import yaml
from bs4 import BeautifulSoup
from docx.table import Table
from pypdf import PdfReader

from assistant.errors import LoaderError
from assistant.types import LoadedDocument

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"})
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})

# (title or None, text, metadata) as read from one format
_Extracted = tuple[str | None, str, dict[str, str]]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
_MD_H1 = re.compile(r"^[ ]{0,3}#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_DROPPED_HTML = ("script", "style", "noscript", "template")
_INLINE_HTML = re.compile(
    r"^(?:a|abbr|b|bdi|bdo|cite|code|data|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small|span|strong|sub|sup"
    r"|time|tt|u|var)$"
)
_SCALARS = (str, int, float, bool, date)
_JAPANESE = ("cp932", "shift_jis", "euc_j", "iso2022_jp")
_KANA = re.compile(r"[\u3041-\u30ff]")


def iter_corpus_files(root: Path) -> list[Path]:
    """All files below ``root`` (sorted), hidden files and folders skipped; ``[root]`` for a file.

    Unsupported files are included on purpose: the ingest report names them as failures.
    """
    if root.is_file():
        return [root]
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(folder) / name for name in files if not name.startswith("."))
    return sorted(found)


def load_document(path: Path, source: str, max_bytes: int | None = None) -> LoadedDocument:
    """Read one file; raise LoaderError (one line, user-facing) if it cannot be used as a document."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "(no extension)"
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoaderError(f"{source}: unsupported file type {kind} (supported: {supported})")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        shown, limit = _sizes(size, max_bytes)
        raise LoaderError(f"{source} is too large: {shown} (limit {limit})")
    data = path.read_bytes()
    if not data.strip():
        raise LoaderError(f"{source} is empty")
    title, text, metadata = _READERS[suffix](data, source)
    text = _normalise_newlines(text).strip()
    if not text:
        hint = " (scanned PDF?)" if suffix == ".pdf" else ""
        raise LoaderError(f"{source} has no extractable text{hint}")
    return LoadedDocument(
        source=source,
        title=_one_line(title or "") or _title_from_text(text) or _humanise(path.stem) or source,
        text=text,
        content_hash=hashlib.sha256(data).hexdigest(),
        metadata=metadata,
    )


def _read_text(data: bytes, source: str) -> _Extracted:
    text = _normalise_newlines(_decode(data, source))
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text, {}
    title, metadata = _parse_front_matter(match.group(1), source)
    return title, text[match.end() :], metadata


def _decode(data: bytes, source: str) -> str:
    """UTF-8 (BOM stripped), UTF-16 with a BOM, ISO-2022-JP, else what charset_normalizer finds."""
    binary = LoaderError(f"{source} does not look like a text file (binary content or unknown encoding)")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise binary from None
    if b"\x00" in data:
        raise binary
    candidates = ["iso2022_jp_2"] if b"\x1b$" in data or b"\x1b(" in data else []
    for encoding in [*candidates, "utf-8-sig"]:
        try:
            return _check_plausible(data.decode(encoding), binary)
        except UnicodeDecodeError:
            continue
    # charset_normalizer reads short Japanese text as Korean (cp949): prefer a Japanese reading with kana.
    matches = charset_normalizer.from_bytes(data)
    japanese = [m for m in matches if m.encoding.startswith(_JAPANESE) and _KANA.search(str(m))]
    best = japanese[0] if japanese else matches.best()
    if best is None:
        raise binary
    return _check_plausible(str(best), binary)


def _check_plausible(text: str, binary: LoaderError) -> str:
    """Refuse text with more than a few control characters (other than tabs, newlines, form feeds)."""
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    if controls > max(2, len(text) // 100):
        raise binary
    return text


def _parse_front_matter(block: str, source: str) -> tuple[str | None, dict[str, str]]:
    try:
        values = yaml.safe_load(block)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = _one_line(getattr(err, "problem", None) or "not valid YAML")
        raise LoaderError(f"{source} has malformed front matter{where}: {problem}") from None
    if values is None:
        return None, {}
    if not isinstance(values, dict):
        raise LoaderError(f"{source} has malformed front matter: expected 'key: value' lines")
    title = values.get("title")
    metadata = {
        str(key): str(value)
        for key, value in values.items()
        if key != "title" and isinstance(value, _SCALARS) and str(value).strip()
    }
    return (str(title) if isinstance(title, _SCALARS) else None), metadata


def _read_html(data: bytes, source: str) -> _Extracted:
    soup = BeautifulSoup(data, "lxml")
    for tag in soup.find_all(_DROPPED_HTML):
        tag.decompose()
    title = _one_line(soup.title.get_text(" ")) if soup.title else ""
    if not title and (h1 := soup.find("h1")):
        title = _one_line(h1.get_text(" "))
    # Inline tags are unwrapped and their strings merged, so "<b>Tokyo</b>." stays on one line.
    for tag in soup.find_all(_INLINE_HTML):
        tag.unwrap()
    soup.smooth()
    body = soup.body or soup
    lines = (_one_line(piece) for piece in body.get_text("\n").split("\n"))
    return title or None, "\n".join(line for line in lines if line), {}


def _read_pdf(data: bytes, source: str) -> _Extracted:
    # pypdf raises many exception types on damaged files (PdfReadError, KeyError, ValueError, zlib...).
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not _decrypt_empty(reader):
            raise LoaderError(f"{source} is encrypted (password-protected PDFs cannot be read)")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except LoaderError:
        raise
    except Exception:
        raise LoaderError(f"{source} is not a readable PDF (corrupt or truncated file)") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    return (str(title) if title else None), text, {"pages": str(len(pages))}


def _decrypt_empty(reader: PdfReader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # e.g. AES without the cryptography package, or an unknown algorithm
        return False


def _read_docx(data: bytes, source: str) -> _Extracted:
    try:
        document = docx.Document(BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_table_rows(item))
            elif item.text.strip():
                blocks.append(item.text.strip())
        title = document.core_properties.title
    except Exception:  # BadZipFile, PackageNotFoundError, KeyError, XML errors...
        raise LoaderError(f"{source} is not a readable .docx file (corrupt, or not a Word file)") from None
    return title or None, "\n".join(blocks), {}


def _table_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _one_line(cell.text)
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


_READERS: dict[str, Callable[[bytes, str], _Extracted]] = {
    **dict.fromkeys(_TEXT_SUFFIXES, _read_text),
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _title_from_text(text: str) -> str | None:
    """The first markdown '# heading', else the first line if it is short and not a sentence."""
    if heading := _MD_H1.search(text):
        return heading.group(1).strip()
    first = _one_line(text.split("\n", 1)[0].lstrip("#"))
    if first and len(first) <= 100 and not first.endswith("."):
        return first
    return None


def _humanise(stem: str) -> str:
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:]


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in one readable unit; exact bytes when rounding would make them look equal."""
    for unit, factor in (("MB", 1024**2), ("KB", 1024)):
        if limit >= factor and f"{size / factor:.1f}" != f"{limit / factor:.1f}":
            return f"{size / factor:.1f} {unit}", f"{limit / factor:.1f} {unit}"
    return f"{size:,} bytes", f"{limit:,} bytes"
