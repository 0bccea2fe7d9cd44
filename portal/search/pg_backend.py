"""The PostgreSQL search backend: full-text search in the portal's own database.

What it owns: one table (``search_document`` unless told otherwise) and its indexes, derived
data like Whoosh's index files and NOT part of the Alembic schema. `ensure` creates them with
``CREATE ... IF NOT EXISTS``; every public method except `exclusive` calls it once, lazily, on
first use, so constructing a backend never touches the database. It also owns two advisory-lock
keys derived from the table name: one held by `exclusive` (one writer at a time, across
processes), one held briefly by `ensure` (so that two processes creating the table at once
do not collide).

PostgreSQL's text-search parser never sees our text: tokens come from `analysis` (jieba), and
tsvector and tsquery values are built here as *literals* and cast (``CAST(:v AS tsvector)``),
always as bound parameters. Three vectors per document:

``doc``     index tokens of title (weight A), tags (B) and body (C): what terms match and rank on;
``pinyin``  pinyin forms of the title and tags' words, without positions;
``chars``   single characters and Latin words of title (A) and body (C), with positions: phrases.

PostgreSQL limits a lexeme to 2047 bytes (longer tokens are dropped), a position to 16383
(later `doc` tokens share position 16383; later `chars` tokens are dropped, so a phrase is
found only within a document's first 16383 characters and words), a lexeme to 256 positions,
and the lexemes of one vector to 1 MB (`MAX_VECTOR_BYTES`; lexemes beyond it are dropped).
Fields are cut to `MAX_FIELD_CHARS` before segmentation, so no entry can fail to index.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

from . import FACETS, LIST_FACETS, OPEN_CATALOG, SORTS, Document, Results, Scope
from .analysis import Query
from .pg_text import all_of, any_of, document_vectors, phrase_tsquery, quote_lexeme, term_tsquery

BATCH = 500  # rows a statement of `upsert` sends at once
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_COLUMNS = ("department", "classification", "format", "share", "open", "cycle", "status")
# The list facets (LIST_FACETS) are text[] columns; a table made before they were added gets them
# and is emptied, so that the repair on start (`Indexer.repair`) refills it.

# -- the backend ----------------------------------------------------------------------------


def _clean(value: object) -> str:
    """A value for a text column: PostgreSQL text holds no NUL and no lone surrogate."""
    value = str(value if value is not None else "").replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _storable(value: object) -> bool:
    return _clean(value) == str(value)


def _array(values: Iterable[object]) -> str:
    """A text[] literal of the distinct values (the statement casts it): each double-quoted,
    backslashes and double quotes escaped."""
    distinct = dict.fromkeys(_clean(v) for v in values)
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in distinct) + "}"


def _lock_key(name: str) -> int:
    """A fixed signed 64-bit advisory-lock key for `name`."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _q(column: str) -> str:
    return f'"{column}"'


class _Impossible(Exception):
    """The query can match no document: answered without asking the database."""


class PostgresBackend:
    """Search in a table of the database `engine` points at (PostgreSQL only)."""

    name = "postgresql"

    def __init__(self, engine: Engine, table: str = "search_document") -> None:
        parts = table.split(".")
        if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
            raise ValueError(f"not a plain lower-case table name (at most 40 characters): {table!r}")
        self.engine = engine
        self.table = table
        self._sql_table = ".".join(_q(p) for p in parts)
        self._short = parts[-1]
        self._writer_key = _lock_key(f"portal.search.writer:{table}")
        self._ensure_key = _lock_key(f"portal.search.ensure:{table}")
        self._ready = False
        self._ready_lock = threading.Lock()

    # -- the table --------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the table and its indexes if missing. Called once, on first use, by every
        method but `exclusive`; call it yourself to create them earlier."""
        t, n = self._sql_table, self._short
        statements = [
            f"""CREATE TABLE IF NOT EXISTS {t} (
                id integer PRIMARY KEY,
                doc tsvector NOT NULL,
                pinyin tsvector NOT NULL,
                chars tsvector NOT NULL,
                {", ".join(f"{_q(c)} text NOT NULL" for c in _COLUMNS)},
                publish_date date,
                downloads integer NOT NULL DEFAULT 0,
                name_key text NOT NULL DEFAULT '',
                {", ".join(f"{_q(c)} text[] NOT NULL DEFAULT '{{}}'" for c in LIST_FACETS)}
            )""",
            f"CREATE INDEX IF NOT EXISTS {n}_doc_idx ON {t} USING gin (doc)",
            f"CREATE INDEX IF NOT EXISTS {n}_pinyin_idx ON {t} USING gin (pinyin)",
            f"CREATE INDEX IF NOT EXISTS {n}_chars_idx ON {t} USING gin (chars)",
            f"CREATE INDEX IF NOT EXISTS {n}_department_idx ON {t} (department)",
            f"CREATE INDEX IF NOT EXISTS {n}_newest_idx ON {t} (publish_date DESC NULLS LAST, id DESC)",
            f"CREATE INDEX IF NOT EXISTS {n}_downloads_idx ON {t} (downloads DESC, id DESC)",
            f'CREATE INDEX IF NOT EXISTS {n}_name_idx ON {t} (name_key COLLATE "C", id)',
        ]
        missing = text(
            "SELECT count(*) FROM unnest(CAST(:names AS text[])) AS wanted(column_name) WHERE NOT EXISTS ("
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) AND attname = wanted.column_name AND NOT attisdropped)"
        )
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._ensure_key})
            for statement in statements:
                connection.execute(text(statement))
            if connection.execute(missing, {"names": _array(LIST_FACETS), "table": t}).scalar():  # a table of an older layout
                for c in LIST_FACETS:
                    connection.execute(text(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {_q(c)} text[] NOT NULL DEFAULT '{{}}'"))
                connection.execute(text(f"TRUNCATE {t}"))
        self._ready = True

    def _ensured(self) -> None:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self.ensure()

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held while the block runs. Not
        re-entrant: a second `exclusive()` inside the first, even in one thread, waits forever."""
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self._writer_key})
            try:
                yield
            finally:
                released = False
                try:
                    released = bool(connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._writer_key}).scalar())
                finally:
                    if not released:  # never return a connection still holding the lock to the pool
                        connection.invalidate()
        finally:
            connection.close()

    def upsert(self, documents: Sequence[Document]) -> None:
        """Insert or replace documents by id, in one transaction (the last of repeated ids wins)."""
        self._ensured()
        latest = {doc.id: doc for doc in documents}
        if not latest:
            return
        columns = ["id", "doc", "pinyin", "chars", *_COLUMNS, "publish_date", "downloads", "name_key", *LIST_FACETS]
        vectors = {"doc", "pinyin", "chars"}
        cast = {**{c: "tsvector" for c in vectors}, **{c: "text[]" for c in LIST_FACETS}}
        values = ", ".join(f"CAST(:{c} AS {cast[c]})" if c in cast else f":{c}" for c in columns)
        statement = text(
            f"INSERT INTO {self._sql_table} ({', '.join(_q(c) for c in columns)}) VALUES ({values}) "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{_q(c)} = EXCLUDED.{_q(c)}' for c in columns[1:])}"
        )
        docs = list(latest.values())
        with self.engine.begin() as connection:
            for start in range(0, len(docs), BATCH):
                connection.execute(statement, [self._row(doc) for doc in docs[start : start + BATCH]])

    @staticmethod
    def _row(doc: Document) -> dict[str, Any]:
        words, pinyin, chars = document_vectors(doc)
        row: dict[str, Any] = {"id": int(doc.id), "doc": words, "pinyin": pinyin, "chars": chars}
        row.update({c: _clean(getattr(doc, c)) for c in _COLUMNS})
        row.update(publish_date=doc.publish_date, downloads=int(doc.downloads or 0), name_key=_clean(doc.name_key))
        row.update({c: _array(getattr(doc, c)) for c in LIST_FACETS})
        return row

    def delete(self, ids: Iterable[int]) -> None:
        self._ensured()
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        with self.engine.begin() as connection:
            connection.execute(text(f"DELETE FROM {self._sql_table} WHERE id = ANY(:ids)"), {"ids": ids})

    def optimize(self) -> None:
        """Refresh the planner's statistics after a bulk write."""
        self._ensured()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"ANALYZE {self._sql_table}"))

    def clear(self) -> None:
        self._ensured()
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {self._sql_table}"))

    # -- reading ----------------------------------------------------------------------------

    def ids(self) -> set[int]:
        self._ensured()
        with self.engine.connect() as connection:
            return set(connection.execute(text(f"SELECT id FROM {self._sql_table}")).scalars())

    def search(
        self, query: Query, *, scope: Scope, filters: Mapping[str, str], sort: str, offset: int, limit: int,
        lists: Collection[str] = (),
    ) -> Results:
        """Statements in one read-only REPEATABLE READ transaction, so they see the same rows:
        the total and every facet's counts (one GROUP BY GROUPING SETS), the list facets asked
        for (one GROUP BY over their unnested values, when any), then the page (skipped when the
        total shows it is empty)."""
        self._ensured()
        offset, limit = max(0, int(offset)), max(0, int(limit))
        wanted_lists = [name for name in LIST_FACETS if name in lists]
        facets: dict[str, dict[str, int]] = {key: {} for key in (*FACETS, *wanted_lists)}
        params: dict[str, Any] = {}
        try:
            where = self._where(query, scope, filters, params)
        except _Impossible:
            return Results(ids=[], total=0, facets=facets)
        order = self._order(query, sort if sort in SORTS else "relevance", params)
        columns = ", ".join(_q(k) for k in FACETS)
        counts = text(
            f"SELECT GROUPING({columns}) AS grouped, {columns}, count(*) AS n FROM {self._sql_table} "
            f"WHERE {where} GROUP BY GROUPING SETS ({', '.join(f'({_q(k)})' for k in FACETS)}, ())"
        )
        listed = text(" UNION ALL ".join(
            f"SELECT {i} AS facet, item, count(*) AS n FROM {self._sql_table} CROSS JOIN LATERAL unnest({_q(name)}) AS listed(item) "
            f"WHERE {where} GROUP BY item"
            for i, name in enumerate(wanted_lists)
        )) if wanted_lists else None
        page = text(f"SELECT id FROM {self._sql_table} WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset")
        total, ids = 0, []
        with self.engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as connection:
            with connection.begin():
                for row in connection.execute(counts, params):
                    grouped, values, n = row[0], row[1:-1], int(row[-1])
                    if grouped == (1 << len(FACETS)) - 1:
                        total = n
                        continue
                    for i, key in enumerate(FACETS):
                        if not grouped & (1 << (len(FACETS) - 1 - i)):
                            facets[key][str(values[i])] = n
                if listed is not None and total:
                    for i, item, n in connection.execute(listed, params):
                        facets[wanted_lists[i]][str(item)] = int(n)
                if total > offset and limit:
                    ids = list(connection.execute(page, {**params, "limit": limit, "offset": offset}).scalars())
        return Results(ids=ids, total=total, facets=facets)

    def _where(self, query: Query, scope: Scope, filters: Mapping[str, str], params: dict[str, Any]) -> str:
        """The WHERE clause of a search, its values put in `params`; _Impossible if it matches nothing."""
        conditions: list[str] = []
        if not scope.everything:
            catalog = ", ".join(f":open_{i}" for i in range(len(OPEN_CATALOG)))
            params.update({f"open_{i}": value for i, value in enumerate(OPEN_CATALOG)})
            params["published"] = "published"
            published_ok = [f'"open" IN ({catalog})']
            if scope.published:
                published_ok = ["TRUE"]
            elif scope.shared:
                published_ok.append("share <> :share_none")
                params["share_none"] = "none"
            visible = [f"(status = :published AND ({' OR '.join(published_ok)}))"]
            if scope.department is not None and _storable(scope.department):
                visible.append("department = :scope_department")
                params["scope_department"] = str(scope.department)
            conditions.append("(" + " OR ".join(visible) + ")")
        for key in FACETS:
            if key in filters:
                value = filters[key]
                if not _storable(value):
                    raise _Impossible
                conditions.append(f"{_q(key)} = :filter_{key}")
                params[f"filter_{key}"] = str(value)
        words: list[str] = []
        for i, term in enumerate(query.terms):
            on_doc = term_tsquery(term)
            on_pinyin = quote_lexeme(term.pinyin) if term.pinyin else None
            if on_pinyin is None:
                if on_doc is None:
                    raise _Impossible
                words.append(on_doc)
                continue
            either = [f"pinyin @@ CAST(:pinyin_{i} AS tsquery)"]
            params[f"pinyin_{i}"] = on_pinyin
            if on_doc is not None:
                either.insert(0, f"doc @@ CAST(:term_{i} AS tsquery)")
                params[f"term_{i}"] = on_doc
            conditions.append("(" + " OR ".join(either) + ")")
        if words:
            conditions.append("doc @@ CAST(:terms AS tsquery)")
            params["terms"] = all_of(words)
        if query.phrases:
            phrases = [phrase_tsquery(p) for p in query.phrases]
            if any(p is None for p in phrases):
                raise _Impossible
            conditions.append("chars @@ CAST(:phrases AS tsquery)")
            params["phrases"] = all_of([p for p in phrases if p])
        excluded = list(dict.fromkeys(q for q in (quote_lexeme(t) for t in query.excluded) if q))
        if excluded:
            conditions.append("NOT (doc @@ CAST(:excluded AS tsquery))")
            params["excluded"] = any_of(excluded)
        return " AND ".join(conditions) or "TRUE"

    def _order(self, query: Query, sort: str, params: dict[str, Any]) -> str:
        if sort == "downloads":
            return "downloads DESC, id DESC"
        if sort == "name":
            return 'name_key COLLATE "C" ASC, id ASC'
        if sort == "relevance" and not query.empty:
            # every token of every term, any of them: a title occurrence (A) outweighs any
            # number of body ones (C); plus the phrases on `chars` and pinyin forms
            ranks = []
            tokens = [q for term in query.terms for alt in term.alternatives for q in map(quote_lexeme, alt) if q]
            if tokens:
                ranks.append("ts_rank(doc, CAST(:rank_doc AS tsquery))")
                params["rank_doc"] = any_of(list(dict.fromkeys(tokens)))
            pinyin = [q for q in (quote_lexeme(t.pinyin) for t in query.terms if t.pinyin) if q]
            if pinyin:
                ranks.append("ts_rank(pinyin, CAST(:rank_pinyin AS tsquery))")
                params["rank_pinyin"] = any_of(list(dict.fromkeys(pinyin)))
            if "phrases" in params:
                ranks.append("ts_rank(chars, CAST(:phrases AS tsquery))")
            if ranks:
                return f"{' + '.join(ranks)} DESC, id DESC"
        return "publish_date DESC NULLS LAST, id DESC"
