"""Personal-information scanning and masking of tabular uploads (Art. 16/23 of the Measures): which
columns of a table hold personal information, and how they are masked before release. No Flask.

Pattern kinds (ID numbers, mobiles, bank cards, e-mail) are found by their shape in any cell, also
inside longer text. Digit patterns need a boundary that is not an ASCII letter or digit on both sides,
so codes such as "JZ3401722024000032" or "91340100726203317Q" never match, nor do the decimals of a
number. Column kinds (姓名, 住址, 证件号码列) depend only on the header, field name and Chinese title
(``column_kind``); every non-blank cell of such a column counts.

Masking (``mask_value``, ``Masker``) is idempotent: pattern kinds replace only the matching substrings,
column kinds the whole cell. A masked table scanned again has no pattern-kind findings; its column-kind
findings remain, since they depend on the header alone.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from portal.codes import is_valid_id_number

KIND_LABELS: dict[str, str] = {
    "id_number": "身份证号码", "id_number_old": "15位身份证号码", "id_number_float": "被表格软件转成数字的身份证号码",
    "mobile": "手机号码", "bank_card": "银行卡号", "email": "电子邮箱",
    "person_name": "姓名", "address": "住址", "id_column": "证件号码列",
}
PATTERN_KINDS = ("id_number", "id_number_old", "id_number_float", "mobile", "bank_card", "email")
COLUMN_KINDS = ("person_name", "address", "id_column")
MAX_SAMPLES = 3
_SAMPLE_TRIES = 200  # samples come from the first occurrences of a kind in a column
_ORDER = {kind: n for n, kind in enumerate(KIND_LABELS)}

# --- patterns ---------------------------------------------------------------------------------

# Cheap first pass (a regex that begins with a character class is searched fast in C): every
# pattern kind holds 7 digits in a row or a "ddd dddd" group, an "@", or "E+17".
_DIGITS = re.compile(r"[0-9]{3}[- ]?[0-9]{4}")
_ALNUM_RUN = re.compile(r"[0-9A-Za-z]*")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NUMERIC = re.compile(
    r"[^0-9A-Za-z](?<![0-9]\.)(?:"  # consumes its left boundary: searched over "\x1f" + text
    r"(?P<float>[1-8]\.[0-9]{1,17}[eE]\+?17)"
    r"|(?P<mobile>(?:\+?86[- ]?)?1[3-9][0-9](?:[0-9]{8}|(?P<sep>[- ])[0-9]{4}(?P=sep)[0-9]{4}))"
    r"|(?P<grouped>[3-6][0-9]{3}(?: [0-9]{4}){3}(?: [0-9]{1,3})?)"
    r"|(?P<digits>[0-9]{15,19}[Xx]?)"
    r")(?![0-9A-Za-z]|\.0*[1-9])"  # "13812345678.0" (a phone read as a float) still counts
)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _real_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= monthrange(year, month)[1]


def _luhn(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2]))
    for ch in digits[-2::-2]:
        total += (2 * int(ch)) % 9 if ch != "9" else 9
    return total % 10 == 0


def _classify(m: re.Match[str]) -> str | None:
    group = m.lastgroup
    if group == "float":
        return "id_number_float"
    if group == "mobile":
        return "mobile"
    s = m.group(group)  # type: ignore[arg-type]
    if group == "grouped":
        return "bank_card" if _luhn(s.replace(" ", "")) else None
    if len(s) == 18 and s[0] in "12345678" and s[6:8] in ("19", "20") and is_valid_id_number(s) \
            and _real_date(int(s[6:10]), int(s[10:12]), int(s[12:14])):
        return "id_number"
    if len(s) == 15 and s[0] in "12345678":
        return "id_number_old" if _real_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12])) else None
    return "bank_card" if len(s) >= 16 and s.isdigit() and s[0] in "3456" and _luhn(s) else None


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every pattern-kind match in `text`; an e-mail wins over digits in it."""
    found: list[tuple[int, int, str]] = []
    if "@" in text:
        found = [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    emails = list(found)
    padded = "\x1f" + text
    m = _NUMERIC.search(padded)
    while m is not None:
        kind = _classify(m)
        start, end = m.span(m.lastgroup)  # type: ignore[arg-type]
        if kind and not any(s < end - 1 and start - 1 < e for s, e, _ in emails):
            found.append((start - 1, end - 1, kind))
        m = _NUMERIC.search(padded, end)
    return found


def _candidate(text: str) -> bool:
    return bool(_DIGITS.search(text) or "@" in text or "+17" in text or "E17" in text or "e17" in text)


def find_kinds(value: str) -> list[str]:
    """The pattern kinds found in one cell, in ``KIND_LABELS`` order (never column kinds)."""
    return sorted({kind for _, _, kind in _spans(value)}, key=_ORDER.__getitem__)


# --- masking ----------------------------------------------------------------------------------

_COMPOUND_SURNAMES = set("欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 独孤 南宫 西门".split())
_MOBILE_PREFIX = re.compile(r"\+?86[- ]?(?=1)")
_ID18_SHAPE = re.compile(r"[0-9]{6}[0-9*]{8}[0-9]{3}[0-9Xx]")  # raw or already masked
_ID15_SHAPE = re.compile(r"[0-9]{6}[0-9*]{5}[0-9]{4}")


def _keep(value: str, head: int, tail: int, stars: int | None = None) -> str:
    """`head` and `tail` characters around `stars` "*" (default: one per hidden character)."""
    if len(value) <= head + tail:
        return "*" * len(value)
    middle = len(value) - head - tail if stars is None else stars
    return value[:head] + "*" * middle + value[len(value) - tail :]


def _mask_mobile(value: str) -> str:
    value = value.strip()
    head = prefix.group() if (prefix := _MOBILE_PREFIX.match(value)) else ""  # +86, kept
    rest = value[len(head) :].replace("-", "").replace(" ", "")
    return head + _keep(rest, 3, 4, 4 if len(rest) > 7 else None)


def _mask_email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    return local[:1] + "***@" + domain if at else _keep(domain, 1, 0)


def _mask_name(value: str) -> str:
    value = value.strip()
    surname = 2 if len(value) > 2 and value[:2] in _COMPOUND_SURNAMES else 1
    return value[:surname] + "*" * (len(value) - surname)


def _mask_address(value: str) -> str:
    value = value.strip()
    if value.endswith("****"):  # already masked
        return value
    cut = max(value.rfind(ch, 0, 15) for ch in "省市区县旗") + 1
    if cut == 0:  # no administrative part: the first 6 characters, never more than half
        cut = min(6, len(value) // 2)
    return value[:cut] + "****"


def _mask_id_column(value: str) -> str:
    v = value.strip()
    stars = 8 if _ID18_SHAPE.fullmatch(v) else 5 if _ID15_SHAPE.fullmatch(v) else None
    return _keep(v, 2, 2) if stars is None else _keep(v, 6, 4, stars)


_MASKS: dict[str, Callable[[str], str]] = {
    "id_number": lambda v: _keep(v.strip(), 6, 4, 8), "id_number_old": lambda v: _keep(v.strip(), 6, 4, 5),
    "id_number_float": lambda v: "******", "mobile": _mask_mobile, "email": _mask_email,
    "bank_card": lambda v: _keep(re.sub(r"[- ]", "", v.strip()), 6, 4),
    "person_name": _mask_name, "address": _mask_address, "id_column": _mask_id_column,
}


def _mask_spans(text: str, kinds: frozenset[str] | set[str]) -> str:
    if not text or not _candidate(text):
        return text
    parts: list[str] = []
    last = 0
    for start, end, kind in sorted(_spans(text)):
        if kind in kinds:
            parts += [text[last:start], _MASKS[kind](text[start:end])]
            last = end
    return "".join(parts) + text[last:] if parts else text


def mask_value(kind: str, value: str) -> str:
    """`value` masked as `kind`: a pattern kind masks its matches inside the value (when there
    is none, an unmasked value, one without "*", is masked whole by its shape: "110101199003071234"
    with a wrong check character still gives "110101********1234"); a column kind the whole value."""
    if kind not in _MASKS:
        raise ValueError(f"未知的个人信息类型：{kind}")
    if not value.strip():
        return value
    if kind in PATTERN_KINDS:
        masked = _mask_spans(value, {kind})
        return masked if masked != value or "*" in value else _MASKS[kind](value)
    return _MASKS[kind](value)


# --- column kinds from the header -------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_GENERIC = {"name": "person_name", "contact": "person_name", "contacts": "person_name",
            "address": None, "addr": None}  # decided by the title when there is one
# Field names are compared without separators: "person_name" = "personName" = "PERSON-NAME".
_PERSON_NAMES = set(
    "person personname fullname realname contactperson contactname linkman legalrepresentative legalrep "
    "legalperson representative personincharge responsibleperson surname xm lxr fddbr fzr".split())
_PERSON_QUALIFIERS = set(  # "<qualifiers>_name" is a person's name; company_name, stop_name are not
    "person full real contact legal applicant owner resident patient student teacher employee staff "
    "household head member citizen customer driver worker representative first last middle given family".split())
_HOME_WORDS = tuple(  # "<home word>_address"; company_, registered_, mailing_address are not
    "home residence residential resident hukou household domicile family living permanent".split())
_ADDRESS_NAMES = {"domicile", "jzdz", "hjdz", "xzz", "jtzz", "jtdz", "hjd", "hjszd"}
_ID_NAMES = set(  # also as the end of a longer name: legal_person_id_number
    "idnumber idnum idno idcard idcardno idcardnumber identitycard identitynumber identityno identitycardno "
    "identitycardnumber citizenid nationalid sfz sfzh sfzhm zjhm gmsfhm".split())
_ID_TITLE = re.compile(r"身份证|证件号码|公民身份号码")
_ADDRESS_TITLE = re.compile(r"住址|居住地|户籍地|家庭地址|现住址|户籍地址")
_NAME_TITLE = re.compile(r"姓名|名字|联系人|法定代表人|法人代表|负责人")
_NOT_ID_TITLE = re.compile(r"地址|住址|有效期|类型|种类|签发|照片")
_NOT_ADDRESS_TITLE = re.compile(r"电话|邮编|编码|代码")
_NOT_NAME_TITLE = re.compile(r"电话|手机|号码|联系方式|地址|住址|邮箱|证件|身份证|职务|职称|传真")


def _field_kind(tokens: list[str]) -> str | None:
    compact = "".join(tokens)
    if any("".join(tokens[-k:]) in _ID_NAMES for k in (1, 2, 3)):
        return "id_column"
    rest = re.sub(r"addr(?:ess)?$", "", compact)  # home_address, applicantHomeAddr, ...
    if compact in _ADDRESS_NAMES or (rest != compact and rest.endswith(_HOME_WORDS)):
        return "address"
    if compact in _PERSON_NAMES or (tokens[-1] == "name" and all(t in _PERSON_QUALIFIERS for t in tokens[:-1])):
        return "person_name"
    single = len(tokens) == 1 and compact.endswith("name") and compact[:-4] in _PERSON_QUALIFIERS  # fullname
    return "person_name" if single else None


def _title_kind(title: str) -> str | None:
    if _ID_TITLE.search(title) and not _NOT_ID_TITLE.search(title):
        return "id_column"
    if _ADDRESS_TITLE.search(title) and not _NOT_ADDRESS_TITLE.search(title):
        return "address"
    if _NAME_TITLE.search(title) and not _NOT_NAME_TITLE.search(title):
        return "person_name"
    return None


def column_kind(field: str, title: str | None = None) -> str | None:
    """The column kind a header implies, or None. A title, or a Chinese field name, naming personal
    information wins ("联系人电话" or "证件类型" do not). The generic field names (name, contact,
    address) are decided by the title when there is one: "地址" or "学校地址" is an organisation's
    address, "居住地址" a home; without a title, name and contact are person names, address is not."""
    title = (title or "").strip()
    if kind := _title_kind(title) or _title_kind(field):  # a Chinese header is its own title
        return kind
    tokens = [t for t in re.split(r"[^0-9a-z]+", _CAMEL.sub("_", field).lower()) if t]
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0] in _GENERIC:
        return None if title else _GENERIC[tokens[0]]
    return _field_kind(tokens)


# --- findings, scanner, masker ----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """`count` cells of `column` hold `kind`; `samples` are masked, never raw, values."""

    column: str
    kind: str
    count: int
    samples: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "label": KIND_LABELS[self.kind], "count": self.count,
                "samples": list(self.samples)}

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        if data["kind"] not in KIND_LABELS:
            raise ValueError(f"未知的个人信息类型：{data['kind']}")
        return cls(str(data["column"]), data["kind"], int(data["count"]), tuple(str(s) for s in data.get("samples", ())))


def _text(cell: object) -> str:
    return "" if cell is None else cell if isinstance(cell, str) else str(cell)


class Scanner:
    """Counts the personal information of one table, fed one data row at a time. Cells past
    the header are ignored, missing ones are empty; None counts as empty."""

    def __init__(self, columns: Sequence[str], titles: Sequence[str] | None = None) -> None:
        self.columns = list(columns)
        titles = list(titles or [])
        self._width = len(self.columns)
        kinds = [column_kind(name, titles[i] if i < len(titles) else None) for i, name in enumerate(self.columns)]
        self._column_kinds = [(i, kind) for i, kind in enumerate(kinds) if kind]
        self._stats: dict[tuple[int, str], list] = {}  # (column, kind) -> [count, samples]

    def _add(self, index: int, kind: str, value: str) -> None:
        stat = self._stats.get((index, kind))
        if stat is None:
            stat = self._stats[(index, kind)] = [0, []]
        stat[0] += 1
        if len(stat[1]) < MAX_SAMPLES and stat[0] <= _SAMPLE_TRIES:
            masked = _MASKS[kind](value)
            if masked not in stat[1]:
                stat[1].append(masked)

    def _scan_cell(self, index: int, cell: str) -> None:
        seen: set[str] = set()
        for start, end, kind in _spans(cell):
            if kind not in seen:
                seen.add(kind)
                self._add(index, kind, cell[start:end])

    def scan_row(self, cells: Sequence[str | None]) -> None:
        try:
            joined = "\x1f".join(cells)  # type: ignore[arg-type]
        except TypeError:  # None or non-text cells
            cells = [_text(c) for c in cells]
            joined = "\x1f".join(cells)
        width = min(len(cells), self._width)
        for index, kind in self._column_kinds:
            if index < width and (value := cells[index]) and not value.isspace():
                self._add(index, kind, value)
        if "@" in joined or "+17" in joined or "E17" in joined or "e17" in joined:
            one_by_one = True
        elif (m := _DIGITS.search(joined)) is None:
            return  # the common case: nothing in the row can match
        else:  # go to the cells of the digit hits, unless a cell holds the separator itself
            one_by_one = joined.count("\x1f") != len(cells) - 1
        if one_by_one:
            for index in range(width):
                if (cell := cells[index]) and _candidate(cell):
                    self._scan_cell(index, cell)
            return
        while m is not None:
            start = m.start()
            run = _ALNUM_RUN.match(joined, start).group()  # type: ignore[union-attr]
            if (start and joined[start - 1] in _LETTERS) or not (run.isdigit() or run[:-1].isdigit() and run[-1] in "Xx"):
                m = _DIGITS.search(joined, start + len(run))  # a code like "JZ3401…" or "9134…317Q"
                continue
            index = joined.count("\x1f", 0, m.start())
            if index >= width:
                break
            self._scan_cell(index, cells[index])  # type: ignore[arg-type]
            end = joined.find("\x1f", m.end())
            m = None if end < 0 else _DIGITS.search(joined, end + 1)

    def findings(self) -> list[Finding]:
        keys = sorted(self._stats, key=lambda key: (key[0], _ORDER[key[1]]))
        return [Finding(self.columns[i], kind, self._stats[(i, kind)][0], tuple(self._stats[(i, kind)][1])) for i, kind in keys]


class Masker:
    """Masks the cells of the columns named in `findings`: the matches of the pattern kinds
    found in a column, then the whole cell for a column kind. Leaving a finding out leaves
    that kind unmasked. Returns a row as long as the one given, None as ""."""

    def __init__(self, columns: Sequence[str], findings: Sequence[Finding]) -> None:
        by_column: dict[str, set[str]] = {}
        for finding in findings:
            by_column.setdefault(finding.column, set()).add(finding.kind)
        self._plan: dict[int, tuple[frozenset[str], str | None]] = {}
        for i, name in enumerate(columns):
            if kinds := by_column.get(name):
                whole = next((k for k in COLUMN_KINDS if k in kinds), None)
                self._plan[i] = (frozenset(kinds.intersection(PATTERN_KINDS)), whole)

    def mask_row(self, cells: Sequence[str]) -> list[str]:
        out = [_text(c) for c in cells]
        for i, (kinds, whole) in self._plan.items():
            if i < len(out) and out[i] and not out[i].isspace():
                value = _mask_spans(out[i], kinds) if kinds else out[i]
                out[i] = _MASKS[whole](value) if whole else value
        return out
