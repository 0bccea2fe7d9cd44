"""Safe Markdown for text people write (plan goals, competition rules and prizes, showcase
descriptions): CommonMark rendered by markdown-it-py with raw HTML off, then sanitised by nh3
(ammonia) to a small allow-list of tags; links get rel="noopener nofollow ugc". The one place
that turns user text into HTML: templates use the `markdown` filter, the static-site export
calls `render_markdown` too."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup
import nh3

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable("strikethrough")
TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> Markup:
    """`text` as sanitised HTML; headings start at h2 (h1 is the page's own title)."""
    html = _md.render(text or "").replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener nofollow ugc"))
