"""Chinese text analysis shared by both search backends: segmentation (jieba, with the zone's
dictionary), pinyin forms, synonyms, the query parser, snippets and "did you mean".

Both backends receive text already cut into tokens here, so they match the same words; neither
ever parses user syntax itself.
"""

from __future__ import annotations

import difflib
import html
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent
ZONE_DICTIONARY = HERE / "zone_dict.txt"
DEFAULT_SYNONYMS = HERE / "synonyms.txt"
MAX_QUERY_CHARS = 100
MAX_TERMS = 10

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)
_ASCII_ALPHA = re.compile(r"[a-z]+")
_jieba = None
_jieba_lock = threading.Lock()


def _segmenter():  # type: ignore[no-untyped-def]
    """jieba (as rjieba, the Rust implementation of the same algorithm and dictionary, about 25
    times faster than the pure-Python package) with the zone dictionary added; built on first
    use, once per process."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import rjieba

                segmenter = rjieba.Jieba()
                for line in ZONE_DICTIONARY.read_text(encoding="utf-8").splitlines():
                    word, freq, tag = (line.split() + ["", "", ""])[:3]
                    if word:
                        segmenter.add_word(word, int(freq) if freq.isdigit() else None, tag or None)
                _jieba = segmenter
    return _jieba


def _keep(token: str) -> bool:
    return bool(_WORD.search(token))


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to half-width), lower case, no control characters."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return text if text.isprintable() else "".join(c if c.isprintable() else " " for c in text)


def index_tokens(text: str) -> list[str]:
    """Tokens to index: every word of jieba's precise mode plus every dictionary word inside it
    (统计局 and 国家 inside 国家统计局), so that a query word cut on its own is always found.
    This is jieba's search-engine mode extended to inner words of any length."""
    segmenter = _segmenter()
    known = segmenter.has_word
    tokens = []
    for word in segmenter.cut(normalise(text)):
        if not _keep(word):
            continue
        tokens.append(word)
        if len(word) < 3 or not _CJK.match(word):
            continue  # inner words only of Chinese words
        for size in range(2, min(len(word), 12)):
            for start in range(len(word) - size + 1):
                inner = word[start : start + size]
                if known(inner):
                    tokens.append(inner)
    return tokens


def query_tokens(text: str) -> list[str]:
    """Tokens of a query word: jieba's precise mode (every precise word is also indexed)."""
    return [t.strip() for t in _segmenter().cut(normalise(text)) if _keep(t)]


def char_tokens(text: str) -> list[str]:
    """Single Chinese characters and whole Latin words in order: the positions phrases match on."""
    return re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+", normalise(text))


@lru_cache(maxsize=50000)
def pinyin_forms(token: str) -> tuple[str, ...]:
    """Full pinyin and initials of a Chinese word: 空气质量 -> (kongqizhiliang, kqzl)."""
    if len(token) < 2 or not all(_CJK.match(c) for c in token):
        return ()
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(token))
    initials = "".join(lazy_pinyin(token, style=Style.FIRST_LETTER))
    return (full, initials) if full.isascii() and full.isalpha() else ()


def warm_up() -> None:
    """Build the segmenter and load the pinyin tables now rather than in the first request."""
    pinyin_tokens("开发区数据开放")


def pinyin_tokens(text: str) -> list[str]:
    forms: list[str] = []
    for token in index_tokens(text):
        forms.extend(pinyin_forms(token))
    return forms


# -- synonyms -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def load_synonyms(path: str) -> dict[str, tuple[str, ...]]:
    """Word -> every word of its group (including itself), from a file of "a = b = c" lines."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        words = tuple(dict.fromkeys(normalise(w).strip() for w in line.split("=") if w.strip()))
        if len(words) > 1:
            for word in words:
                groups[word] = tuple(dict.fromkeys(groups.get(word, ()) + words))
    return groups


# -- queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One thing every match must contain: any of `alternatives`, each a list of tokens that must
    all occur; `pinyin` is the same term as pinyin (a Latin query word)."""

    text: str
    alternatives: tuple[tuple[str, ...], ...]
    pinyin: str = ""


@dataclass(frozen=True)
class Query:
    text: str  # the query as understood, after capping and cleaning
    terms: tuple[Term, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()  # character tokens, in order
    excluded: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # Chinese messages about what was dropped
    typed: tuple[str, ...] = ()  # the words as typed, for "did you mean"

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases)

    def words(self) -> list[str]:
        """What to highlight."""
        words = [t for term in self.terms for alt in term.alternatives for t in alt]
        return words + ["".join(p) for p in self.phrases]


_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”|「([^」]*)」')
# Characters of query syntax in other engines; here they only separate words.
_SYNTAX = re.compile(r"[*?~^:()\[\]{}\\/+!|&<>=@#$%;，。、；：！？（）【】《》…·'`]")


def parse_query(raw: str, *, synonyms: dict[str, tuple[str, ...]] | None = None) -> Query:
    """Understand what a user typed: words (all must match), "quoted phrases", -exclusions.

    Never fails: wildcards and operators of other engines are treated as spaces, the text is
    cut to MAX_QUERY_CHARS and at most MAX_TERMS words are kept; `notes` says what was cut.
    """
    notes = []
    text = normalise(raw).strip()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"检索词过长，只使用了前{MAX_QUERY_CHARS}个字符")
    phrases = []
    for match in _QUOTED.finditer(text):
        chars = tuple(char_tokens(next(g for g in match.groups() if g is not None)))
        if chars:
            phrases.append(chars)
    rest = _QUOTED.sub(" ", text).replace('"', " ").replace("“", " ").replace("”", " ")
    excluded: list[str] = []
    terms: list[Term] = []
    synonyms = synonyms or {}
    typed: list[str] = []
    for word in rest.split():
        negative = word.startswith("-")
        word = _SYNTAX.sub(" ", word.lstrip("-"))
        if not negative:
            typed.extend(word.split())
        for piece in word.split():
            tokens = [t for t in query_tokens(piece) if t != "-"]
            if negative:
                excluded.extend(tokens)
                continue
            for token in tokens:
                group = synonyms.get(token, (token,))
                alternatives = tuple(dict.fromkeys(tuple(query_tokens(w)) or (w,) for w in group))
                pinyin = token if _ASCII_ALPHA.fullmatch(token) else ""
                terms.append(Term(token, alternatives, pinyin))
    if len(terms) > MAX_TERMS:
        terms = terms[:MAX_TERMS]
        notes.append(f"检索词太多，只使用了前{MAX_TERMS}个词")
    understood = " ".join([t.text for t in terms] + [f'"{"".join(p)}"' for p in phrases] + [f"-{e}" for e in excluded])
    return Query(understood, tuple(terms), tuple(phrases[:3]), tuple(excluded[:MAX_TERMS]), tuple(notes), tuple(typed[:MAX_TERMS]))


# -- presenting results ---------------------------------------------------------------------


def snippet(text: str, words: list[str], *, width: int = 80) -> str:
    """HTML: a window of `text` around the first query word, every query word in <mark>."""
    text = " ".join((text or "").split())
    lowered = text.lower()
    words = sorted({w for w in words if w and len(w) <= 40}, key=len, reverse=True)
    first = min((i for i in (lowered.find(w) for w in words) if i >= 0), default=0)
    start = max(0, first - width // 4)
    piece = text[start : start + width]
    if not words:
        marked = html.escape(piece)
    else:
        pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
        out, last = [], 0
        for match in pattern.finditer(piece):
            out.append(html.escape(piece[last : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            last = match.end()
        out.append(html.escape(piece[last:]))
        marked = "".join(out)
    return ("…" if start else "") + marked + ("…" if start + width < len(text) else "")


def suggest(query: Query, vocabulary: set[str]) -> str | None:
    """A corrected query for one that found nothing: each typed word that is not a known word is
    replaced by the known word that sounds the same (a wrong character of the same pinyin, as
    市场监管句 for 市场监管局) or, failing that, the one that looks closest."""
    if not query.typed or not vocabulary:
        return None
    by_pinyin: dict[str, str] = {}
    for word in sorted(vocabulary, key=len):
        for form in pinyin_forms(word)[:1]:
            by_pinyin.setdefault(form, word)
    corrected, changed = [], False
    known = _segmenter().has_word
    for word in query.typed:
        replacement = None
        if word not in vocabulary and not known(word):
            forms = pinyin_forms(word)
            if forms and forms[0] in by_pinyin:
                replacement = by_pinyin[forms[0]]
            else:
                close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.6)
                replacement = close[0] if close else None
        changed |= bool(replacement and replacement != word)
        corrected.append(replacement or word)
    return " ".join(corrected) if changed else None


def zone_vocabulary() -> set[str]:
    """The zone dictionary's words: part of the vocabulary "did you mean" draws on."""
    return {line.split()[0] for line in ZONE_DICTIONARY.read_text(encoding="utf-8").splitlines() if line.strip()}
