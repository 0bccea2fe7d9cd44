"""Safe Markdown of user text: CommonMark without raw HTML, sanitised, links marked as user content."""

from __future__ import annotations

from portal.text import render_markdown


def test_markdown_is_rendered_and_sanitised() -> None:
    text = ("# 标题\n\n[地图](https://a.example.cn/) [坏](javascript:alert(1)) ![图](https://t.example.cn/p.gif)\n"
            "<b onclick=x>粗</b> <script>alert(1)</script>\n\n| 列 | 值 |\n|---|---|\n| 甲 | 1 |")
    html = str(render_markdown(text))
    assert "<h2>标题</h2>" in html and "<h1>" not in html  # the page keeps its own h1
    assert '<a href="https://a.example.cn/" rel="noopener nofollow ugc">地图</a>' in html
    assert 'href="javascript' not in html and "<img" not in html and "<script" not in html
    assert "&lt;b onclick=x&gt;" in html and "<b " not in html
    assert "<td>甲</td>" in html


def test_empty_text_is_empty() -> None:
    assert str(render_markdown("")) == "" and str(render_markdown(None)) == ""  # type: ignore[arg-type]
