"""The Whoosh search backend: index files on local disk, the embedded default.

The only module that imports Whoosh. We use the maintained `whoosh-reloaded` fork (2.7.5):
the same API and file format as Whoosh 2.7.4, which has had no release since 2016, with fixes
for current Pythons. Text arrives segmented by `analysis` and is stored as space-separated
tokens, so Whoosh never parses user syntax: queries are built from Term, Phrase, And and Or
objects. Writers of all processes take one file lock (`exclusive`), and Whoosh's own lock.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections import Counter, OrderedDict
from itertools import chain
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from whoosh import columns, fields, index
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.searching import Searcher

from . import FACETS, LIST_FACETS, OPEN_CATALOG, Document, Results, Scope
from .analysis import Query, char_tokens, index_tokens, pinyin_tokens

WRITE_TIMEOUT = 60.0  # seconds a writer waits for another process's writer
# What a view keeps of recent searches (their matches, scores, counts and orders): at most this
# many searches, holding at most this many matches together (some 20 MB at most).
FOUND_KEPT, FOUND_MATCHES_KEPT = 256, 100_000


def _schema() -> fields.Schema:
    tokens = SpaceSeparatedTokenizer()
    text = dict(analyzer=tokens, phrase=False)
    keyword = dict(sortable=True)
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        num=fields.NUMERIC(int, bits=64, sortable=True),
        text=fields.TEXT(**text),
        pinyin=fields.TEXT(**text),
        chars=fields.STORED(),  # the character tokens, to check phrases on their candidates
        pairs=fields.TEXT(**text),
        **{name: fields.ID(**keyword) for name in (*FACETS, "status", "name_key")},
        publish_date=fields.NUMERIC(int, bits=32, sortable=True),
        downloads=fields.NUMERIC(int, bits=64, sortable=True),
        # the list facets: a column only (JSON lists), counted, never matched
        **{name: fields.COLUMN(columns.VarBytesColumn()) for name in LIST_FACETS},
    )


def _fields(doc: Document) -> dict[str, object]:
    return {
        "id": str(doc.id),
        "num": doc.id,
        # One text field, with title words three times and tag words twice: one posting list
        # per word to match (fast), and the repetition gives titles their weight in BM25.
        "text": " ".join(index_tokens(doc.title) * 3 + index_tokens(doc.tags) * 2 + index_tokens(doc.body)),
        "pinyin": " ".join(pinyin_tokens(f"{doc.title} {doc.tags}")),
        "chars": " ".join(chars := char_tokens(f"{doc.title} {doc.body}")),
        "pairs": " ".join(set(_pairs(chars))),
        "department": doc.department,
        "classification": doc.classification,
        "format": doc.format,
        "share": doc.share,
        "open": doc.open,
        "cycle": doc.cycle,
        "status": doc.status,
        "name_key": doc.name_key or " ",
        "publish_date": doc.publish_date.toordinal() if isinstance(doc.publish_date, date) else 0,
        "downloads": doc.downloads,
        **{name: json.dumps(list(dict.fromkeys(getattr(doc, name))), ensure_ascii=False).encode("utf-8") for name in LIST_FACETS},
    }


class WhooshBackend:
    name = "whoosh"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(self.path)):
            self._index = index.open_dir(str(self.path))
            if set(self._index.schema.names()) != set(_schema().names()):
                self._index = index.create_in(str(self.path), _schema())  # an older layout: the repair on start refills it
        else:
            self._index = index.create_in(str(self.path), _schema())
        self._local = threading.local()

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with open(self.path / "portal-writer.lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def _writer(self) -> Iterator[object]:
        writer = self._index.writer(timeout=WRITE_TIMEOUT, limitmb=128)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        else:
            writer.commit()

    def upsert(self, documents: Sequence[Document]) -> None:
        documents = list({doc.id: doc for doc in documents}.values())  # the last of each id wins
        if not documents:
            return
        with self._writer() as writer:
            fresh = self._index.is_empty()
            for doc in documents:
                (writer.add_document if fresh else writer.update_document)(**_fields(doc))  # type: ignore[attr-defined]

    def delete(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._writer() as writer:
            for doc_id in ids:
                writer.delete_by_term("id", str(doc_id))  # type: ignore[attr-defined]

    def optimize(self) -> None:
        """Merge the index into one segment (after a rebuild: fewer segments, faster searches)."""
        self._index.optimize()

    def clear(self) -> None:
        self._index = index.create_in(str(self.path), _schema())
        self._local = threading.local()

    # -- reading ----------------------------------------------------------------------------

    def _searcher(self) -> _View:
        """One view per thread, replaced when any process has committed a new generation."""
        generation = self._index.latest_generation()
        current: _View | None = getattr(self._local, "view", None)
        if current is not None and current.generation == generation:
            return current
        if current is not None:
            current.searcher.close()
        view = _View(generation, self._index.searcher())
        self._local.view = view
        return view

    def ids(self) -> set[int]:
        view = self._searcher()
        return {view.column("num")[d] for d in view.live}

    def search(
        self, query: Query, *, scope: Scope, filters: Mapping[str, str], sort: str, offset: int, limit: int,
        lists: Collection[str] = (),
    ) -> Results:
        """Matching, counting and ordering on the index's columns: Whoosh finds the documents
        of the words, the visible set and the facet counts come from column arrays cached per
        index generation, and relevance is Whoosh's scorer (BM25F) read off the matcher in the
        same pass that finds the documents, ties going to the higher id. What a search found,
        counted and ordered is kept for the next searches of the same words, scope and filters
        while the index does not change (`_View.found`)."""
        view = self._searcher()
        ranked = limit > 0 and not query.empty and sort not in ("newest", "downloads", "name")
        found = view.found(query, scope, {k: v for k, v in filters.items() if k in FACETS}, ranked=ranked)
        facets = {key: dict(view.counts(found, key)) for key in (*FACETS, *(name for name in LIST_FACETS if name in lists))}
        if limit <= 0 or offset >= len(found.matches):
            docnums: list[int] = []
        else:
            docnums = view.ordered(found, "score" if ranked else sort if sort in ("downloads", "name") else "newest")[offset: offset + limit]
        num = view.column("num")
        return Results(ids=[num[d] for d in docnums], total=len(found.matches), facets=facets)  # type: ignore[misc]


class _Found:
    """The documents a search found, and their scores when it ranked them; their facet counts
    and their orders are added when first wanted."""

    __slots__ = ("matches", "scores", "counts", "orders")

    def __init__(self, matches: frozenset[int], scores: dict[int, float] | None) -> None:
        self.matches = matches
        self.scores = scores
        self.counts: dict[str, dict[str, int]] = {}
        self.orders: dict[str, list[int]] = {}


class _View:
    """A searcher and what is worth keeping while the index does not change: column arrays,
    the live documents, and the visible sets of recent scopes and filters."""

    def __init__(self, generation: int, searcher: Searcher) -> None:
        self.generation = generation
        self.searcher = searcher
        self.reader = searcher.reader()
        self.live = frozenset(self.reader.all_doc_ids())
        self._columns: dict[str, list[object]] = {}
        self._lists: dict[str, list[tuple[str, ...]]] = {}
        self._allowed: dict[tuple[Scope, tuple[tuple[str, str], ...]], frozenset[int]] = {}
        self._found: OrderedDict[tuple[object, ...], _Found] = OrderedDict()  # the most recently used last
        self._found_matches = 0  # how many matches `_found` holds

    def column(self, name: str) -> list[object]:
        if name not in self._columns:
            empty = self.reader.doc_count_all() == 0  # an empty index has no columns to read
            self._columns[name] = [] if empty else list(self.reader.column_reader(name))
        return self._columns[name]

    def found(self, query: Query, scope: Scope, filters: dict[str, str], *, ranked: bool) -> _Found:
        """The documents `query` finds within `scope` and `filters` (with their scores when
        `ranked`): computed once, then kept among the most recent searches (FOUND_KEPT)."""
        key = (query.terms, query.phrases, query.excluded, scope, tuple(sorted(filters.items())))
        found = self._found.get(key)
        if found is None or (ranked and found.scores is None):
            allowed = self.allowed(scope, filters)
            matches: frozenset[int] | set[int] = allowed
            scores = None
            if not query.empty:
                if ranked:
                    scores = self.scored(_text_query(query), allowed)
                    matches = set(scores)
                else:
                    matches = allowed & self.docs(_text_query(query))
                if any(len(phrase) > 1 for phrase in query.phrases):
                    matches = self.with_phrases(matches, query.phrases)
            if query.excluded:
                matches = matches - self.docs(wq.Or([_any_text(token) for token in query.excluded]))
            if key in self._found:
                self._found_matches -= len(self._found.pop(key).matches)
            found = self._found[key] = _Found(frozenset(matches), scores)
            self._found_matches += len(found.matches)
            while len(self._found) > 1 and (len(self._found) > FOUND_KEPT or self._found_matches > FOUND_MATCHES_KEPT):
                self._found_matches -= len(self._found.popitem(last=False)[1].matches)
        self._found.move_to_end(key)
        return found

    def counts(self, found: _Found, name: str) -> dict[str, int]:
        """How many of the documents found hold each value of the facet `name` (of FACETS or
        LIST_FACETS)."""
        if name not in found.counts:
            if not found.matches:
                found.counts[name] = {}
            elif name in LIST_FACETS:
                found.counts[name] = dict(Counter(chain.from_iterable(map(self.lists(name).__getitem__, found.matches))))
            else:
                found.counts[name] = dict(Counter(map(self.column(name).__getitem__, found.matches)))  # type: ignore[arg-type]
        return found.counts[name]

    def ordered(self, found: _Found, order: str) -> list[int]:
        """The documents found in an order: "score" (relevance; ties to the higher id),
        "downloads" (most first), "name" (pinyin) or "newest" (publication date)."""
        if order not in found.orders:
            num = self.column("num")
            if order == "score":
                scores = found.scores or {}
                found.orders[order] = sorted(found.matches, key=lambda d: (-scores[d], -num[d]))  # type: ignore[operator]
            elif order in ("downloads", "newest"):
                values = self.column("downloads" if order == "downloads" else "publish_date")
                found.orders[order] = sorted(found.matches, key=lambda d: (-values[d], -num[d]))  # type: ignore[operator]
            else:
                names = self.column("name_key")
                found.orders[order] = sorted(found.matches, key=lambda d: (names[d], num[d]))  # type: ignore[arg-type, return-value]
        return found.orders[order]

    def lists(self, name: str) -> list[tuple[str, ...]]:
        """A list facet's column, each document's values as a tuple."""
        if name not in self._lists:
            self._lists[name] = [tuple(json.loads(value)) if value else () for value in self.column(name)]  # type: ignore[arg-type]
        return self._lists[name]

    def docs(self, query: wq.Query) -> set[int]:
        return set(self.searcher.docs_for_query(query))

    def scored(self, query: wq.Query, among: frozenset[int] | set[int]) -> dict[int, float]:
        """The documents of `among` that `query` matches, with their scores: what Whoosh's
        collector computes for a search sorted by score, without its per-document sort keys."""
        scores: dict[int, float] = {}
        context = self.searcher.context(needs_current=True)
        for subsearcher, offset in self.searcher.leaf_searchers():
            matcher = query.matcher(subsearcher, context)
            while matcher.is_active():
                docnum = matcher.id() + offset
                if docnum in among:
                    scores[docnum] = matcher.score()
                matcher.next()
        return scores

    def with_phrases(self, docnums: Iterable[int], phrases: Sequence[Sequence[str]]) -> set[int]:
        """Those of `docnums` whose text holds every phrase, character tokens in a row."""
        wanted = [f" {' '.join(phrase)} " for phrase in phrases]
        stored = self.searcher.stored_fields
        return {d for d in docnums if all(w in f" {stored(d)['chars']} " for w in wanted)}

    def allowed(self, scope: Scope, filters: dict[str, str]) -> frozenset[int]:
        key = (scope, tuple(sorted(filters.items())))
        if key not in self._allowed:
            if len(self._allowed) > 64:
                self._allowed.clear()
            status, open_, share, department = (self.column(c) for c in ("status", "open", "share", "department"))
            columns = {name: self.column(name) for name in filters}

            def visible(d: int) -> bool:
                if scope.everything or (scope.department is not None and department[d] == scope.department):
                    return True
                return status[d] == "published" and (
                    open_[d] in OPEN_CATALOG or scope.published or (scope.shared and share[d] != "none")
                )

            self._allowed[key] = frozenset(
                d for d in self.live if visible(d) and all(columns[name][d] == value for name, value in filters.items())
            )
        return self._allowed[key]


def _pairs(chars: Sequence[str]) -> list[str]:
    """Neighbouring character tokens: every document holding a phrase holds all its pairs."""
    return [f"{a}·{b}" for a, b in zip(chars, chars[1:])]


def _any_char(token: str) -> wq.Query:
    """Documents holding one character token (a one-character phrase): as the first or the
    second of a pair."""
    return wq.Or([wq.Prefix("pairs", f"{token}·"), wq.Wildcard("pairs", f"*·{token}")])


def _any_text(token: str) -> wq.Query:
    return wq.Term("text", token)


def _text_query(query: Query) -> wq.Query:
    """The words and phrases; exclusions are subtracted as sets by the caller (Whoosh 2.7.5's
    AndNot matcher can return a document holding the excluded word)."""
    parts: list[wq.Query] = []
    for term in query.terms:
        options: list[wq.Query] = [wq.And([_any_text(t) for t in alternative]) for alternative in term.alternatives]
        if term.pinyin:
            options.append(wq.Term("pinyin", term.pinyin))
        parts.append(wq.Or(options))
    for phrase in query.phrases:  # candidates: every pair of neighbours (`_View.with_phrases` decides)
        pairs = set(_pairs(phrase))
        parts.append(wq.And([wq.Term("pairs", p) for p in pairs]) if pairs else _any_char(phrase[0]))
    return wq.And(parts) if parts else wq.Every()
