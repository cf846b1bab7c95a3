"""Each supported format becomes a titled document with sections; broken files are refused by name."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from assistant.rag.loaders import DocumentLoadError, load_document


def make_pdf(lines_per_page: list[list[str]], title: str = "") -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    if title:
        pdf.setTitle(title)
    for lines in lines_per_page:
        pdf.setFont("STSong-Light", 12)
        y = 800
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 20
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "融资融券业务说明"
    document.add_heading("融资融券业务说明", level=1)
    document.add_heading("一、开通条件", level=2)
    document.add_paragraph("申请前 20 个交易日日均资产不低于 50 万元，且参与证券交易满 6 个月。")
    document.add_heading("二、维持担保比例", level=2)
    document.add_paragraph("本公司维持担保比例警戒线为 150%，平仓线为 130%。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_markdown_front_matter_and_sections(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures/kb_small/manuals/transfer.md"
    doc = load_document(path, "manuals/transfer.md")
    assert doc.title == "银证转账指南"
    assert doc.doc_type == "manual"
    assert doc.source == "明川证券 App 服务说明"
    assert doc.effective_date == "2025-01-01"
    assert [s.heading for s in doc.sections] == ["一、转账时间", "二、到账时间", "三、转账失败的常见原因"]
    assert "8:30–16:00" in doc.sections[0].text


def test_plain_text_takes_title_from_first_line(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text("国债逆回购业务提示\n\n国债逆回购 1000 元起，以 1000 元整数倍递增。\n", encoding="utf-8")
    doc = load_document(path, "education/notice.txt")
    assert doc.title == "国债逆回购业务提示"
    assert doc.doc_type == "education"  # from the folder, since a text file has no front matter
    assert "1000 元起" in doc.sections[0].text


def test_gb18030_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("创业板权限开通条件\n日均资产不低于 10 万元。".encode("gb18030"))
    assert "10 万元" in load_document(path, "old.txt").sections[0].text


def test_html_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "hours.html"
    path.write_text(
        "<html><head><title>交易时间</title><script>var x=1;</script></head><body>"
        "<h2>集合竞价</h2><p>开盘集合竞价时间为 9:15–9:25。</p>"
        "<h2>连续竞价</h2><p>连续竞价时间为 9:30–11:30、13:00–14:57。</p></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path, "manuals/hours.html")
    assert doc.title == "交易时间"
    assert [s.heading for s in doc.sections] == ["集合竞价", "连续竞价"]
    assert "var x" not in " ".join(s.text for s in doc.sections)


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "margin.pdf"
    path.write_bytes(make_pdf([["融资融券开户条件说明。"], ["维持担保比例平仓线为 130%。"]], title="融资融券说明"))
    doc = load_document(path, "regulations/margin.pdf")
    assert doc.title == "融资融券说明"
    assert [s.heading for s in doc.sections] == ["第 1 页", "第 2 页"]
    assert "130%" in doc.sections[1].text


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "margin.docx"
    path.write_bytes(make_docx())
    doc = load_document(path, "manuals/margin.docx")
    assert doc.title == "融资融券业务说明"
    assert [s.heading for s in doc.sections] == ["一、开通条件", "二、维持担保比例"]
    assert "平仓线为 130%" in doc.sections[1].text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "无法解析"),
        ("broken.docx", b"PK\x03\x04 not a zip archive", "无法解析"),
        ("empty.md", b"", "没有可读取的文字"),
        ("bad-front-matter.md", "---\ntitle: [未闭合\n---\n# 标题\n正文。".encode(), "front matter"),
        ("bad-type.md", "---\ntitle: 测试\ndoc_type: 新闻\n---\n正文内容。".encode(), "doc_type"),
        ("binary.txt", bytes(range(256)) * 4, "编码"),
    ],
)
def test_broken_files_raise_a_readable_error(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError, match=reason):
        load_document(path, name)
