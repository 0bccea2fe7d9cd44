"""From the catalog to the index: the document of an entry, and the scope of a viewer."""

from __future__ import annotations

from pypinyin import lazy_pinyin

from ..models import Entry, User
from ..vocab import DEPARTMENT_ROLES, Role
from . import Document, Scope


def document_for(entry: Entry) -> Document:
    items = " ".join(f"{i.title} {i.name} {i.description}" for i in entry.items)
    files = " ".join(f"{f.title} {f.name}" for f in entry.files)
    return Document(
        id=entry.id,
        title=entry.title,
        tags=" ".join([*entry.keywords, entry.department.name, entry.classification_path.replace("/", " ")]),
        body=" ".join([entry.abstract, items, files]),
        department=str(entry.department_id),
        classification=entry.classification_kind.value,
        format=entry.format_class.value,
        share=entry.share_type.value,
        open=entry.open_type.value,
        cycle=entry.update_cycle.value,
        status=entry.status.value,
        publish_date=entry.publish_date,
        downloads=entry.downloads,
        name_key=name_key(entry.title),
        keywords=tuple(dict.fromkeys(entry.keywords or [])),
        formats=tuple(sorted({f.format.upper() for f in entry.files})),
    )


def name_key(title: str) -> str:
    """Chinese names sort by their pinyin, as dictionaries and phone books do."""
    return " ".join(lazy_pinyin(title.strip().lower()))[:200]


def scope_for(user: User | None) -> Scope:
    """The entries `user` may find: `browse.visible_clause` as data for the search backends."""
    if user is None:
        return Scope()
    if user.role == Role.BUREAU:
        return Scope(everything=True)
    if user.role == Role.REVIEWER:
        return Scope(published=True)
    if user.role in DEPARTMENT_ROLES:
        return Scope(department=str(user.department_id), shared=True)
    return Scope()
