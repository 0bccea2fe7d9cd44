"""The English catalog translates every string the code and templates mark for translation."""

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from .support import ROOT


def test_every_marked_string_has_an_english_translation() -> None:
    method_map = [("portal/**.py", "python"), ("portal/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "_": None}
    marked = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords)
    }
    with open(ROOT / "portal/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert len(marked) > 250  # the extraction found the strings
    assert sorted(marked - translated) == []
