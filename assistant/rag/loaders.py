"""Turn a file (Markdown, text, HTML, PDF, DOCX) into a titled document split by its own sections."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
# A dropped-in file without front matter takes its kind from the folder it sits in.
_FOLDER_DOC_TYPES = {"manuals": "manual", "regulations": "regulation", "education": "education", "faq": "faq"}
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class DocumentLoadError(Exception):
    """The file cannot be read as a document; the message says why, in words a maintainer can act on."""


@dataclass
class Section:
    heading: str  # "一、转账时间" or "第 3 页"; "" for text before the first heading
    text: str


@dataclass
class LoadedDocument:
    path: str  # relative to the knowledge-base root, forward slashes
    title: str
    doc_type: str
    issuer: str = ""
    source: str = ""
    effective_date: str = ""
    version: str = ""
    sections: list[Section] = field(default_factory=list)


def load_document(path: Path, relative_path: str, data: bytes | None = None) -> LoadedDocument:
    """Read one file. Raises DocumentLoadError for anything unreadable or empty."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentLoadError(f"不支持的文件类型 {suffix}")
    if data is None:
        data = path.read_bytes()
    default_type = _FOLDER_DOC_TYPES.get(Path(relative_path).parts[0], "manual") if "/" in relative_path else "manual"
    try:
        if suffix in (".md", ".markdown"):
            doc = _load_markdown(_decode(data), relative_path, default_type)
        elif suffix == ".txt":
            doc = _load_text(_decode(data), relative_path, default_type)
        elif suffix in (".html", ".htm"):
            doc = _load_html(data, relative_path, default_type)
        elif suffix == ".pdf":
            doc = _load_pdf(data, relative_path, default_type)
        else:
            doc = _load_docx(data, relative_path, default_type)
    except DocumentLoadError:
        raise
    except Exception as exc:  # every parser has its own exception zoo; report, don't crash ingestion
        raise DocumentLoadError(f"无法解析文件：{type(exc).__name__}: {exc}") from exc
    doc.sections = [s for s in doc.sections if s.text.strip()]
    if not doc.sections:
        raise DocumentLoadError("文件中没有可读取的文字内容")
    if doc.doc_type not in _FOLDER_DOC_TYPES.values():
        raise DocumentLoadError(f"doc_type 取值无效：{doc.doc_type}（应为 manual/regulation/education/faq）")
    return doc


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentLoadError("文件编码无法识别（请保存为 UTF-8）")


def _stem_title(relative_path: str) -> str:
    return Path(relative_path).stem


def _load_markdown(text: str, relative_path: str, default_type: str) -> LoadedDocument:
    import frontmatter

    try:
        post = frontmatter.loads(text)
    except Exception as exc:
        raise DocumentLoadError(f"front matter 格式错误：{exc}") from exc
    meta = post.metadata
    sections: list[Section] = []
    stack: list[str] = []
    title = str(meta.get("title") or "")
    buffer: list[str] = []

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            sections.append(Section(" > ".join(stack), body))
        buffer.clear()

    in_code = False
    for line in post.content.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _MD_HEADING.match(line)
        if not match:
            buffer.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1:
            title = title or heading
            stack = []
            continue
        del stack[level - 2 :]
        stack.append(heading)
    flush()
    return LoadedDocument(
        path=relative_path,
        title=title or _stem_title(relative_path),
        doc_type=str(meta.get("doc_type") or default_type),
        issuer=str(meta.get("issuer") or ""),
        source=str(meta.get("source") or ""),
        effective_date=str(meta.get("effective_date") or ""),
        version=str(meta.get("version") or ""),
        sections=sections,
    )


def _load_text(text: str, relative_path: str, default_type: str) -> LoadedDocument:
    lines = [line.strip() for line in text.splitlines()]
    first = next((line for line in lines if line), "")
    # A short first line reads as a title; a long one is already body text.
    title = first if 0 < len(first) <= 40 else _stem_title(relative_path)
    body = "\n".join(lines[lines.index(first) + 1 :] if title == first and first else lines)
    return LoadedDocument(path=relative_path, title=title, doc_type=default_type, sections=[Section("", body)])


def _load_html(data: bytes, relative_path: str, default_type: str) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    sections: list[Section] = []
    heading, buffer = "", []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre", "blockquote"]):
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name in ("h1", "h2", "h3", "h4"):
            if buffer:
                sections.append(Section(heading, "\n".join(buffer)))
                buffer = []
            if element.name == "h1" and not title:
                title = text
            else:
                heading = text
            continue
        buffer.append(text)
    if buffer:
        sections.append(Section(heading, "\n".join(buffer)))
    if not sections and soup.body:
        sections.append(Section("", soup.body.get_text("\n", strip=True)))
    return LoadedDocument(path=relative_path, title=title or _stem_title(relative_path), doc_type=default_type, sections=sections)


def _load_pdf(data: bytes, relative_path: str, default_type: str) -> LoadedDocument:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise DocumentLoadError("PDF 已加密，无法读取")
    sections = []
    for number, page in enumerate(reader.pages, start=1):
        # Extracted PDF text breaks lines mid-sentence; join them back before chunking.
        text = re.sub(r"(?<=[^\s。！？；：])\n(?=\S)", "", page.extract_text() or "")
        sections.append(Section(f"第 {number} 页", text))
    meta_title = (reader.metadata.title if reader.metadata else None) or ""
    return LoadedDocument(path=relative_path, title=str(meta_title) or _stem_title(relative_path), doc_type=default_type, sections=sections)


def _load_docx(data: bytes, relative_path: str, default_type: str) -> LoadedDocument:
    import docx

    document = docx.Document(io.BytesIO(data))
    title = document.core_properties.title or ""
    sections: list[Section] = []
    heading, buffer = "", []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style == "Title" or style.startswith(("Heading", "标题")):
            if buffer:
                sections.append(Section(heading, "\n".join(buffer)))
                buffer = []
            if (style == "Title" or style in ("Heading 1", "标题 1")) and not title:
                title = text
            else:
                heading = text
            continue
        buffer.append(text)
    for table in document.tables:
        for row in table.rows:
            buffer.append("；".join(cell.text.strip() for cell in row.cells if cell.text.strip()))
    if buffer:
        sections.append(Section(heading, "\n".join(buffer)))
    return LoadedDocument(path=relative_path, title=title or _stem_title(relative_path), doc_type=default_type, sections=sections)
