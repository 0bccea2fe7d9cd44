"""The Whoosh search backend: index files on local disk, the embedded default.

The only module that imports Whoosh. We use the maintained `whoosh-reloaded` fork (2.7.5):
the same API and file format as Whoosh 2.7.4, which has had no release since 2016, with fixes
for current Pythons. Text arrives segmented by `analysis` and is stored as space-separated
tokens, so Whoosh never parses user syntax: queries are built from Term, Phrase, And and Or
objects. Writers of all processes take one file lock (`exclusive`), and Whoosh's own lock.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from whoosh import fields, index, sorting
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.searching import Searcher

from . import FACETS, OPEN_CATALOG, Document, Results, Scope
from .analysis import Query, char_tokens, index_tokens, pinyin_tokens

TEXT_FIELDS = ("title", "tags", "body")
WRITE_TIMEOUT = 60.0  # seconds a writer waits for another process's writer


def _schema() -> fields.Schema:
    tokens = SpaceSeparatedTokenizer()
    text = dict(analyzer=tokens, phrase=False)
    keyword = dict(sortable=True)
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        num=fields.NUMERIC(int, bits=64, sortable=True),
        title=fields.TEXT(field_boost=3.0, **text),
        tags=fields.TEXT(field_boost=2.0, **text),
        body=fields.TEXT(**text),
        pinyin=fields.TEXT(**text),
        chars=fields.TEXT(analyzer=tokens, phrase=True),
        **{name: fields.ID(**keyword) for name in (*FACETS, "status", "name_key")},
        publish_date=fields.NUMERIC(int, bits=32, sortable=True),
        downloads=fields.NUMERIC(int, bits=64, sortable=True),
    )


def _fields(doc: Document) -> dict[str, object]:
    return {
        "id": str(doc.id),
        "num": doc.id,
        "title": " ".join(index_tokens(doc.title)),
        "tags": " ".join(index_tokens(doc.tags)),
        "body": " ".join(index_tokens(doc.body)),
        "pinyin": " ".join(pinyin_tokens(f"{doc.title} {doc.tags}")),
        "chars": " ".join(char_tokens(f"{doc.title} {doc.body}")),
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
    }


class WhooshBackend:
    name = "whoosh"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(self.path)):
            self._index = index.open_dir(str(self.path))
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

    def clear(self) -> None:
        self._index = index.create_in(str(self.path), _schema())
        self._local = threading.local()

    # -- reading ----------------------------------------------------------------------------

    def _searcher(self) -> Searcher:
        """One searcher per thread, replaced when any process has committed a new generation."""
        generation = self._index.latest_generation()
        current = getattr(self._local, "current", None)
        if current is not None and current[0] == generation:
            return current[1]
        if current is not None:
            current[1].close()
        searcher = self._index.searcher()
        self._local.current = (generation, searcher)
        return searcher

    def ids(self) -> set[int]:
        searcher = self._searcher()
        return {int(fields["id"]) for fields in searcher.all_stored_fields()}

    def search(
        self, query: Query, *, scope: Scope, filters: Mapping[str, str], sort: str, offset: int, limit: int
    ) -> Results:
        searcher = self._searcher()
        text = _text_query(query)
        conditions = [_scope_query(scope)] + [wq.Term(k, v) for k, v in filters.items() if k in FACETS]
        results = searcher.search(
            text,
            filter=wq.And(conditions),
            limit=max(1, offset + limit),
            sortedby=_sort_facet(sort, empty=query.empty),
            groupedby={key: sorting.FieldFacet(key) for key in FACETS},
            maptype=sorting.Count,
        )
        ids = [int(hit["id"]) for hit in results[offset : offset + limit]]
        facets = {key: {str(k): int(v) for k, v in results.groups(key).items()} for key in FACETS}
        return Results(ids=ids, total=len(results), facets=facets)


def _any_text(token: str) -> wq.Query:
    return wq.Or([wq.Term(field, token) for field in TEXT_FIELDS])


def _text_query(query: Query) -> wq.Query:
    parts: list[wq.Query] = []
    for term in query.terms:
        options: list[wq.Query] = [wq.And([_any_text(t) for t in alternative]) for alternative in term.alternatives]
        if term.pinyin:
            options.append(wq.Term("pinyin", term.pinyin))
        parts.append(wq.Or(options))
    for phrase in query.phrases:
        parts.append(wq.Phrase("chars", list(phrase)) if len(phrase) > 1 else wq.Term("chars", phrase[0]))
    positive: wq.Query = wq.And(parts) if parts else wq.Every()
    if query.excluded:
        return wq.AndNot(positive, wq.Or([_any_text(token) for token in query.excluded]))
    return positive


def _scope_query(scope: Scope) -> wq.Query:
    if scope.everything:
        return wq.Every()
    published_ok: list[wq.Query] = [wq.Term("open", value) for value in OPEN_CATALOG]
    if scope.published:
        published_ok.append(wq.Every())
    if scope.shared:
        published_ok.append(wq.AndNot(wq.Every(), wq.Term("share", "none")))
    visible: list[wq.Query] = [wq.And([wq.Term("status", "published"), wq.Or(published_ok)])]
    if scope.department is not None:
        visible.append(wq.Term("department", scope.department))
    return wq.Or(visible)


def _sort_facet(sort: str, *, empty: bool) -> sorting.FacetType | None:
    newest = [sorting.FieldFacet("publish_date", reverse=True), sorting.FieldFacet("num", reverse=True)]
    if sort == "newest" or (sort not in ("downloads", "name") and empty):
        return sorting.MultiFacet(newest)
    if sort == "downloads":
        return sorting.MultiFacet([sorting.FieldFacet("downloads", reverse=True), sorting.FieldFacet("num", reverse=True)])
    if sort == "name":
        return sorting.MultiFacet([sorting.FieldFacet("name_key"), sorting.FieldFacet("num")])
    return sorting.MultiFacet([sorting.ScoreFacet(), sorting.FieldFacet("num", reverse=True)])
