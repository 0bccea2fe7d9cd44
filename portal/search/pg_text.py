"""tsvector and tsquery *literals* for the PostgreSQL search backend, built in Python from the
tokens of `analysis`, so that PostgreSQL's own text-search parser never sees (and never splits
or drops) Chinese text. Limits are PostgreSQL's; see `pg_backend` for what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from . import Document
from .analysis import Term, char_tokens, index_tokens, pinyin_tokens

MAX_LEXEME_BYTES = 2047  # PostgreSQL's MAXSTRLEN
MAX_POSITION = 16383  # PostgreSQL's MAXENTRYPOS - 1
MAX_POSITIONS_PER_LEXEME = 256  # PostgreSQL's MAXNUMPOS
MAX_VECTOR_BYTES = 1_000_000  # under PostgreSQL's MAXSTRPOS (1 MB), counting our own overhead
MAX_FIELD_CHARS = {"title": 2_000, "tags": 20_000, "body": 100_000}



# -- literals -------------------------------------------------------------------------------


@lru_cache(maxsize=200_000)
def quote_lexeme(token: str) -> str | None:
    """A token as a quoted tsvector/tsquery lexeme, or None if PostgreSQL cannot hold it (empty,
    NUL, longer than 2047 bytes). Inside the quotes a quote is doubled and a backslash escaped."""
    if not token or "\x00" in token:
        return None
    try:
        size = len(token.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: no such text can be stored
        return None
    if size > MAX_LEXEME_BYTES:
        return None
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


class _Vector:
    """A tsvector literal being built: each lexeme once, with its positions and weights."""

    def __init__(self, *, positions: bool = True, clamp: bool = True) -> None:
        self.positions = positions
        self.clamp = clamp  # past MAX_POSITION: True = share the last position, False = drop
        self.lexemes: dict[str, list[int]] = {}
        self.weights: dict[str, list[str]] = {}
        self.position = 0
        self.size = 0

    def add(self, tokens: Iterable[str], weight: str = "D") -> None:
        for token in tokens:
            if not token:
                continue
            self.position += 1  # a token too long to keep still takes its place, for phrases
            position = self.position
            if position > MAX_POSITION:
                if not self.clamp:
                    return
                position = MAX_POSITION
            quoted = quote_lexeme(token)
            if quoted is None:
                continue
            held = self.lexemes.get(quoted)
            if held is None:
                cost = len(quoted.encode("utf-8")) + 8
                if self.size + cost > MAX_VECTOR_BYTES:
                    continue
                self.size += cost
                self.lexemes[quoted] = held = []
                self.weights[quoted] = []
            if not self.positions or len(held) >= MAX_POSITIONS_PER_LEXEME or (held and held[-1] == position):
                continue
            if self.size + 2 > MAX_VECTOR_BYTES:
                continue
            self.size += 2
            held.append(position)
            self.weights[quoted].append(weight)

    def literal(self) -> str:
        if not self.positions:
            return " ".join(self.lexemes)
        parts = []
        for quoted, positions in self.lexemes.items():
            weights = self.weights[quoted]
            labels = ",".join(f"{p}{'' if w == 'D' else w}" for p, w in zip(positions, weights, strict=True))
            parts.append(f"{quoted}:{labels}" if labels else quoted)
        return " ".join(parts)


def document_vectors(doc: Document) -> tuple[str, str, str]:
    """The `doc`, `pinyin` and `chars` tsvector literals of a document."""
    title = (doc.title or "")[: MAX_FIELD_CHARS["title"]]
    tags = (doc.tags or "")[: MAX_FIELD_CHARS["tags"]]
    body = (doc.body or "")[: MAX_FIELD_CHARS["body"]]
    words = _Vector()
    words.add(index_tokens(title), "A")
    words.add(index_tokens(tags), "B")
    words.add(index_tokens(body), "C")
    pinyin = _Vector(positions=False)
    pinyin.add(pinyin_tokens(f"{title} {tags}"))
    chars = _Vector(clamp=False)
    # char_tokens(title + " " + body), in two parts so that title characters weigh more
    chars.add(char_tokens(title), "A")
    chars.add(char_tokens(body), "C")
    return words.literal(), pinyin.literal(), chars.literal()


def all_of(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"


def any_of(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _alternative(tokens: Sequence[str]) -> str | None:
    """All of `tokens`, or None if it can match nothing: a token no vector can hold (empty,
    too long) is in no document, and an alternative of no tokens is no alternative."""
    quoted = [quote_lexeme(token) for token in tokens]
    if not quoted or None in quoted:
        return None
    return all_of(list(dict.fromkeys(q for q in quoted if q)))


def term_tsquery(term: Term) -> str | None:
    """The tsquery literal of a term on `doc`: any alternative, each all its tokens."""
    alternatives = [a for a in (_alternative(alt) for alt in term.alternatives) if a is not None]
    return any_of(list(dict.fromkeys(alternatives))) if alternatives else None


def phrase_tsquery(phrase: Sequence[str]) -> str | None:
    """The tsquery literal of a phrase on `chars`: its tokens at consecutive positions."""
    quoted = [quote_lexeme(t) for t in phrase]
    if not quoted or None in quoted:
        return None
    return "(" + " <-> ".join(q for q in quoted if q) + ")" if len(quoted) > 1 else str(quoted[0])
