"""Reading the pages of a DCAT catalog for the `dcat` source kind: each page fetched through the
`Fetcher` (never anything else: a JSON-LD page's remote `@context`s are fetched through it too
and inlined, so rdflib never opens a URL itself) and parsed into an rdflib `Graph`, and the
pages followed along their Hydra links. It knows nothing of datasets beyond counting a page's
members to stop a loop; `dcat` turns the graphs into records.

- Parser: by the response's Content-Type, else by the URL's suffix, else each in turn
  (JSON-LD, Turtle, RDF/XML, N-Triples). A page nothing can read fails the listing.
- Paging: `hydra:next` or the older `hydra:nextPage` (on a `hydra:PartialCollectionView` or
  `hydra:PagedCollection`), followed until there is none. A page seen again (the same URL, or
  the same non-empty set of datasets) stops the listing with a `FetchError` ("invalid"), as
  does a catalog of more than `MAX_PAGES` pages: the job fails instead of looping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, RDF

from .fetch import Fetcher, FetchError

ACCEPT = (
    "application/ld+json, text/turtle;q=0.9, application/rdf+xml;q=0.8, application/n-triples;q=0.6, "
    "application/json;q=0.5, application/xml;q=0.4, */*;q=0.1"
)
MAX_PAGE_BYTES = 20 << 20  # one page of the catalog
MAX_PAGES = 10_000
MAX_CONTEXTS = 10  # remote JSON-LD contexts fetched per listing

FORMAT_OF_TYPE = {
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "n3",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/n-triples": "nt",
}
FORMAT_OF_SUFFIX = {
    ".jsonld": "json-ld", ".json": "json-ld", ".ttl": "turtle", ".n3": "n3", ".rdf": "xml", ".xml": "xml",
    ".owl": "xml", ".nt": "nt",
}
ALL_FORMATS = ("json-ld", "turtle", "xml", "nt")
FORMAT_NAMES = {"json-ld": "JSON-LD", "turtle": "Turtle", "n3": "N3", "xml": "RDF/XML", "nt": "N-Triples"}

HYDRA_NAMESPACES = ("http://www.w3.org/ns/hydra/core#", "https://www.w3.org/ns/hydra/core#")
NEXT_LINKS = tuple(URIRef(ns + term) for ns in HYDRA_NAMESPACES for term in ("next", "nextPage"))


class DcatError(FetchError):
    """The listing itself is unusable (a page nothing can parse, a page seen twice)."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__("invalid", message, url=url)


class Reader:
    """Fetches and parses pages; remembers what it saw to stop a loop."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.contexts: dict[str, Any] = {}
        self.seen_urls: set[str] = set()
        self.seen_sets: set[frozenset[str]] = set()

    def pages(self, url: str) -> Iterator[tuple[Graph, str]]:
        """The graphs of the catalog's pages, from `url` along its next links."""
        next_url: str | None = url
        count = 0
        while next_url is not None:
            count += 1
            if count > MAX_PAGES:
                raise DcatError(f"{host(next_url)} 的 DCAT 目录超过 {MAX_PAGES} 页，已停止读取", url=next_url)
            if _key(next_url) in self.seen_urls:
                raise DcatError(f"DCAT 分页出现循环：{host(next_url)} 的下一页链接指向已读过的页面 {next_url}", url=next_url)
            graph, final = self.page(next_url)
            self.seen_urls.update({_key(next_url), _key(final)})
            members = frozenset(str(node) for node in graph.subjects(RDF.type, DCAT.Dataset) if isinstance(node, URIRef))
            if members and members in self.seen_sets:
                raise DcatError(f"DCAT 分页出现循环：{host(final)} 的页面 {final} 与已读过的一页列出相同的数据集", url=final)
            self.seen_sets.add(members)
            yield graph, final
            next_url = next_page(graph, {next_url, final})

    def page(self, url: str) -> tuple[Graph, str]:
        """One page as a graph, and its final URL."""
        fetched = self.fetcher.get(url, accept=ACCEPT, max_bytes=MAX_PAGE_BYTES)
        candidates = [FORMAT_OF_TYPE.get(fetched.content_type), _format_of_url(fetched.url), _format_of_url(url), *ALL_FORMATS]
        tried: list[str] = []
        for fmt in dict.fromkeys(c for c in candidates if c):
            try:
                return self._parse(fetched.content, fmt, fetched.url), fetched.url
            except FetchError:
                raise
            except Exception:  # noqa: BLE001 - any parser error means "not this format"
                tried.append(FORMAT_NAMES[fmt])
        raise DcatError(f"{host(fetched.url)} 返回的内容无法解析为 RDF（已尝试 {'、'.join(tried)}）", url=fetched.url)

    def _parse(self, content: bytes, fmt: str, base: str) -> Graph:
        graph = Graph()
        if fmt == "json-ld":
            data = json.loads(content.decode("utf-8-sig"))
            if isinstance(data, list):  # a top-level array: the same nodes as a default graph
                data = {"@graph": data}
            if not isinstance(data, dict):
                raise ValueError("not JSON-LD")
            graph.parse(data=_inline(data, base, self._context), format="json-ld", publicID=base)
        else:
            graph.parse(data=content, format=fmt, publicID=base)
        return graph

    def _context(self, url: str) -> Any:
        """The `@context` of the remote context document at `url`, through the fetcher."""
        if url not in self.contexts:
            if len(self.contexts) >= MAX_CONTEXTS:
                raise DcatError(f"JSON-LD 引用的远程上下文超过 {MAX_CONTEXTS} 个，已停止读取", url=url)
            document = self.fetcher.get_json(url, max_bytes=2 << 20)
            if not isinstance(document, dict) or "@context" not in document:
                raise DcatError(f"{host(url)} 的 JSON-LD 上下文文档缺少 @context：{url}", url=url)
            self.contexts[url] = document["@context"]
        return self.contexts[url]


def _inline(node: Any, base: str, load: Callable[[str], Any], chain: frozenset[str] = frozenset()) -> Any:
    """`node` with every remote `@context` (and `@import`) replaced by the context it names,
    loaded by `load(url)`: rdflib then never fetches anything."""
    if isinstance(node, list):
        return [_inline(item, base, load, chain) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _context_value(value, base, load, chain) if key == "@context" else _inline(value, base, load, chain)
            for key, value in node.items()}


def _context_value(value: Any, base: str, load: Callable[[str], Any], chain: frozenset[str]) -> Any:
    if isinstance(value, list):
        result: list[Any] = []
        for item in value:
            inlined = _context_value(item, base, load, chain)
            result.extend(inlined if isinstance(inlined, list) else [inlined])
        return result
    if isinstance(value, str):
        url = urldefrag(urljoin(base, value))[0]
        if url in chain:
            raise DcatError(f"JSON-LD 上下文循环引用：{url}", url=url)
        return _context_value(load(url), url, load, chain | {url})
    if isinstance(value, dict):
        result_dict: dict[str, Any] = {}
        imported = value.get("@import")
        if isinstance(imported, str):
            loaded = _context_value(imported, base, load, chain)
            if isinstance(loaded, dict):
                result_dict.update(loaded)
        for key, item in value.items():
            if key != "@import":
                result_dict[key] = _inline(item, base, load, chain)
        return result_dict
    return value


def next_page(graph: Graph, current: set[str]) -> str | None:
    """The next page's URL: `hydra:next` (or `hydra:nextPage`), preferring the link whose
    subject is the current page when several are given."""
    links = [(subject, target) for predicate in NEXT_LINKS for subject, target in graph.subject_objects(predicate)]
    targets = [(str(subject) not in current, str(target)) for subject, target in links if isinstance(target, URIRef | Literal) and str(target).strip()]
    if not targets:
        return None
    return min(targets)[1].strip()


def _format_of_url(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    for suffix, fmt in FORMAT_OF_SUFFIX.items():
        if path.endswith(suffix):
            return fmt
    return None


def _key(url: str) -> str:
    return urldefrag(url)[0]


def same_url(a: str, b: str) -> bool:
    """Whether `a` and `b` name the same page (fragments aside)."""
    return _key(a) == _key(b)


def host(url: str) -> str:
    """The URL's host name, for messages."""
    return urlsplit(url).hostname or url

