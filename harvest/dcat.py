"""The `dcat` source kind: a DCAT catalog (JSON-LD, Turtle or RDF/XML) read into `RemoteRecord`s.

This module owns the kind's protocol (`records`, `check`) and turning each `dcat:Dataset` of a
page's graph into a `RemoteRecord`; `dcat_pages` fetches and parses the pages (through the
`Fetcher` only) and follows the Hydra paging. It does not map records into the catalog
(`mapping` does) nor write anything.

- A dataset: `guid` its IRI, or `dct:identifier` when it is a blank node (a blank node without
  one is a `ParseFailure`); texts preferring Chinese (`zh`, `zh-CN` ...), then no language,
  then any; `organization` the publisher's `foaf:name` (or its IRI); `themes` the labels (or
  IRIs) of `dcat:theme`; distributions as resources (`dcat:downloadURL`, else `accessURL`).
- A zone portal like ours (its own fields in a `<vocabulary>/ns#` namespace, `portal.linked_data`)
  also gives the catalog's fields, in `extras` under the CKAN API's keys (`portal.ckan.EXTRAS`):
  `resource_code`, `share_type`, `open_type`, `update_cycle`, `classification_*` ... with
  vocabulary values as their stable codes (`unconditional`, `open` ...).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from portal.linked_data import FILE_TYPES, FREQUENCIES, PORTAL_FIELDS
from portal.vocab import ClassificationKind

from .base import ParseFailure
from .dcat_pages import Reader, host, next_page, same_url
from .fetch import Fetcher, FetchError
from .records import RemoteRecord, RemoteResource

if TYPE_CHECKING:
    from datetime import datetime

    from portal.models import HarvestSource

SUPPORTS_INCREMENTAL = False

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # DCAT 3, not in rdflib's closed DCAT namespace
SPDX = Namespace("http://spdx.org/rdf/terms#")
LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title, FOAF.name, VCARD.fn)

# The portal's own terms (`<vocabulary>#name`) that are not in PORTAL_FIELDS.
PORTAL_EXTRA_TERMS = {"personalInformation": "personal_information", "relatedResourceCode": "related_codes"}
# A media type -> the upper-case format remote catalogs use.
FORMAT_OF_MEDIA_TYPE = {media: code for code, media in FILE_TYPES.values()} | {
    "text/comma-separated-values": "CSV",
    "application/ld+json": "JSON-LD",
    "text/turtle": "TTL",
    "application/rdf+xml": "RDF",
    "text/html": "HTML",
    "text/xml": "XML",
    "application/x-zip-compressed": "ZIP",
}
FREQUENCY_CYCLES = {code: cycle.value for cycle, code in FREQUENCIES.items()}


# -- the protocol ---------------------------------------------------------------------------


def records(source: HarvestSource, fetcher: Fetcher, *, since: datetime | None = None) -> Iterator[RemoteRecord | ParseFailure]:
    """Every `dcat:Dataset` of the catalog at `source.url`, page after page (Hydra). `since` is
    ignored (not incremental). A dataset seen on an earlier page is not yielded again."""
    namespaces = _namespaces(source)
    yielded: set[str] = set()
    for graph, _page_url in Reader(fetcher).pages(source.url):
        for item in _datasets(graph, namespaces):
            key = item.guid
            if key and key in yielded:
                continue
            yielded.add(key)
            yield item


def check(source: HarvestSource, fetcher: Fetcher) -> list[str]:
    """What is wrong with the source, read from its first page ([] when it looks fine)."""
    try:
        graph, url = Reader(fetcher).page(source.url)
    except FetchError as error:
        return [error.message]
    problems: list[str] = []
    items = _datasets(graph, _namespaces(source))
    if not items:
        problems.append(f"未找到任何 dcat:Dataset（{host(url)} 返回的 RDF 中没有 rdf:type 为 dcat:Dataset 的资源）")
    failures = [item for item in items if isinstance(item, ParseFailure)]
    if failures:
        problems.append(f"第一页有 {len(failures)} 个数据集无法读取，如：{failures[0].error}")
    following = next_page(graph, {source.url, url})
    if following is not None and same_url(following, url):
        problems.append(f"分页链接（hydra:next）指向本页自身：{following}")
    return problems


def _namespaces(source: HarvestSource) -> tuple[str, ...]:
    """Extra namespaces of zone-portal fields the source's settings name (`dcat_namespace`)."""
    value = (source.settings or {}).get("dcat_namespace") or ()
    return tuple(value) if isinstance(value, list | tuple) else (str(value),)


# -- datasets -------------------------------------------------------------------------------


def _datasets(graph: Graph, namespaces: tuple[str, ...]) -> list[RemoteRecord | ParseFailure]:
    """Every `dcat:Dataset` of `graph`, each a record or a failure, in a stable order."""
    nodes = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=lambda n: (isinstance(n, BNode), str(n)))
    return [_dataset(graph, node, namespaces) for node in nodes]


def _dataset(graph: Graph, node: Node, namespaces: tuple[str, ...]) -> RemoteRecord | ParseFailure:
    title = _text(graph, node, DCTERMS.title)
    identifier = _text(graph, node, DCTERMS.identifier)
    guid = str(node) if isinstance(node, URIRef) else identifier
    try:
        if not guid:
            return ParseFailure("", "数据集是没有 IRI 的空白节点，也没有 dct:identifier，无法确定其标识", title)
        if not title:
            return ParseFailure(guid, "数据集缺少标题（dct:title）")
        return _record(graph, node, guid, title, identifier, namespaces)
    except Exception as error:  # noqa: BLE001 - one bad dataset never stops the listing
        return ParseFailure(guid, f"数据集无法读取：{type(error).__name__}: {error}"[:500], title)


def _record(graph: Graph, node: Node, guid: str, title: str, identifier: str, namespaces: tuple[str, ...]) -> RemoteRecord:
    publisher, publisher_extras = _publisher(graph, node)
    extras: dict[str, str] = {**publisher_extras}
    if identifier:
        extras["identifier"] = identifier
    for key, predicate in (("access_rights", DCTERMS.accessRights), ("frequency", DCTERMS.accrualPeriodicity),
                           ("conforms_to", DCTERMS.conformsTo), ("spatial", DCTERMS.spatial), ("temporal", DCTERMS.temporal),
                           ("language", DCTERMS.language), ("version", DCAT_VERSION)):
        value = _text(graph, node, predicate)
        if value:
            extras[key] = value
    zone = _zone_fields(graph, node, namespaces)
    if zone:  # a zone portal: dct:identifier is the resource code, dct:issued the publish date
        extras.update(zone)
        if identifier:
            extras["resource_code"] = identifier
        issued = _text(graph, node, DCTERMS.issued)
        if issued:
            extras["publish_date"] = issued[:10]
    if "update_cycle" not in extras and extras.get("frequency", "").rsplit("/", 1)[-1] in FREQUENCY_CYCLES:
        extras["update_cycle"] = FREQUENCY_CYCLES[extras["frequency"].rsplit("/", 1)[-1]]
    themes = []
    for theme in _objects(graph, node, DCAT.theme):
        themes.append(_label(graph, theme) or str(theme))
        if zone:
            extras.update(_classification(graph, theme))
    resources = [r for r in (_resource(graph, d) for d in _objects(graph, node, DCAT.distribution)) if r is not None]
    resources.sort(key=lambda r: (r.name, r.url))
    landing = _text(graph, node, DCAT.landingPage) or _text(graph, node, FOAF.page)
    if not landing and isinstance(node, URIRef) and str(node).startswith(("http://", "https://")):
        landing = str(node)
    return RemoteRecord(
        guid=guid,
        title=title,
        notes=_text(graph, node, DCTERMS.description),
        tags=_texts(graph, node, DCAT.keyword),
        organization=publisher,
        organization_title=publisher,
        themes=sorted(set(themes)),
        url=landing,
        license=_license(graph, node),
        issued=_text(graph, node, DCTERMS.issued),
        modified=_text(graph, node, DCTERMS.modified),
        extras=extras,
        resources=resources,
    )


def _publisher(graph: Graph, node: Node) -> tuple[str, dict[str, str]]:
    """The publisher's name (foaf:name, else another label, else its IRI) and what identifies it."""
    for publisher in _objects(graph, node, DCTERMS.publisher):
        if isinstance(publisher, Literal):
            return str(publisher).strip(), {}
        name = _text(graph, publisher, FOAF.name) or _label(graph, publisher)
        extras = {}
        if isinstance(publisher, URIRef):
            extras["publisher_uri"] = str(publisher)
        code = _text(graph, publisher, DCTERMS.identifier)
        if code:
            extras["publisher_identifier"] = code
        return name or (str(publisher) if isinstance(publisher, URIRef) else ""), extras
    return "", {}


def _license(graph: Graph, node: Node) -> str:
    """dct:license of the dataset, else the one license all its distributions share."""
    own = _objects(graph, node, DCTERMS.license)
    if not own:
        found = {lic for d in _objects(graph, node, DCAT.distribution) for lic in _objects(graph, d, DCTERMS.license)}
        own = sorted(found, key=str) if len(found) == 1 else []
    for value in own:
        if isinstance(value, URIRef):
            return str(value)
        return _label(graph, value) if isinstance(value, BNode) else str(value).strip()
    return ""


def _zone_fields(graph: Graph, node: Node, namespaces: tuple[str, ...]) -> dict[str, str]:
    """The zone catalog's own fields of a dataset, under the CKAN API's extras keys; vocabulary
    terms (`<ns>#ShareType-unconditional`) as their codes. A zone namespace is one the source's
    settings name, or a `.../ns#` namespace in which the dataset has `shareType` or `openType`."""
    zone = {ns.rstrip("#") for ns in namespaces}
    for predicate in set(graph.predicates(node)):
        namespace, _, name = str(predicate).rpartition("#")
        if namespace.endswith("/ns") and name in ("shareType", "openType"):
            zone.add(namespace)
    fields: dict[str, list[str]] = {}
    for predicate, value in graph.predicate_objects(node):
        namespace, _, name = str(predicate).rpartition("#")
        if namespace not in zone:
            continue
        if name in PORTAL_FIELDS:
            key, vocabulary = PORTAL_FIELDS[name]
        elif name in PORTAL_EXTRA_TERMS:
            key, vocabulary = PORTAL_EXTRA_TERMS[name], None
        else:
            continue
        text = str(value).strip()
        if isinstance(value, URIRef) and vocabulary is not None:
            term = text.rpartition("#")[2]
            text = term.split("-", 1)[1] if term.startswith(vocabulary.__name__ + "-") else (_label(graph, value) or text)
        if vocabulary is not None:
            try:
                text = vocabulary.parse(text).value
            except ValueError:
                pass  # as the source says it: the mapping reports it
        fields.setdefault(key, []).append(text)
    result = {key: ",".join(sorted(values)) for key, values in fields.items()}
    if "personal_information" in result:
        result["personal_information"] = "true" if result["personal_information"].lower() in ("true", "1") else "false"
    return result


def _classification(graph: Graph, theme: Node) -> dict[str, str]:
    """A zone portal's classification concept (`<ns>#classification-<code>`): its code, path and top class."""
    if not (isinstance(theme, URIRef) and "#classification-" in str(theme)):
        return {}
    result = {"classification_code": _text(graph, theme, SKOS.notation) or str(theme).rpartition("#classification-")[2]}
    path = _text(graph, theme, SKOS.prefLabel)
    if path:
        result["classification_path"] = path
    for top in _objects(graph, theme, SKOS.broader):
        for candidate in (str(top).rpartition("#classification-")[2], _text(graph, top, SKOS.prefLabel)):
            try:
                result["classification_kind"] = ClassificationKind.parse(candidate).value
                break
            except ValueError:
                continue
    return result


# -- distributions --------------------------------------------------------------------------


def _resource(graph: Graph, node: Node) -> RemoteResource | None:
    """A distribution as a resource; None when it has no URL at all."""
    url = _text(graph, node, DCAT.downloadURL) or _text(graph, node, DCAT.accessURL)
    if not url:
        return None
    name = _text(graph, node, DCTERMS.title) or unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or url
    fmt = ""
    for predicate in (DCTERMS.format, DCAT.mediaType, DCAT.compressFormat):
        value = _text(graph, node, predicate) or _label(graph, _first(graph, node, predicate))
        fmt = _format(value) if value else ""
        if fmt:
            break
    if not fmt:
        suffix = urlsplit(url).path.rpartition("/")[2].rpartition(".")
        fmt = suffix[2].upper() if suffix[1] and suffix[2].isalnum() and len(suffix[2]) <= 7 else ""
    return RemoteResource(
        url=url,
        name=name,
        format=fmt,
        description=_text(graph, node, DCTERMS.description),
        size=_size(_text(graph, node, DCAT.byteSize)),
        modified=_text(graph, node, DCTERMS.modified) or _text(graph, node, DCTERMS.issued),
        hash=_checksum(graph, node),
    )


def _format(value: str) -> str:
    """An upper-case format (CSV, XLSX ...) from a dct:format or dcat:mediaType value: an EU
    file-type IRI, an IANA media-type IRI, a media type, or a format name."""
    value = value.strip()
    if "/media-types/" in value:
        value = value.split("/media-types/", 1)[1]
    elif "://" in value:
        return unquote(value.rstrip("/").rpartition("/")[2]).upper()
    if "/" in value:
        media = value.split(";")[0].strip().lower()
        if media in FORMAT_OF_MEDIA_TYPE:
            return FORMAT_OF_MEDIA_TYPE[media]
        suffix = mimetypes.guess_extension(media)
        return suffix.lstrip(".").upper() if suffix else media.rpartition("/")[2].upper()
    return value.lstrip(".").upper()


def _size(text: str) -> int | None:
    try:
        size = int(float(text))
    except ValueError:
        return None
    return size if size >= 0 else None


def _checksum(graph: Graph, node: Node) -> str:
    """spdx:checksum: the bare hex for SHA-256 (as the portal keeps its files'), else "algorithm:hex"."""
    for checksum in _objects(graph, node, SPDX.checksum):
        value = _text(graph, checksum, SPDX.checksumValue)
        if not value:
            continue
        algorithm = _text(graph, checksum, SPDX.algorithm).rpartition("checksumAlgorithm_")[2].lower()
        return value.lower() if algorithm in ("", "sha256") else f"{algorithm}:{value.lower()}"
    return ""


# -- reading values -------------------------------------------------------------------------


def _rank(value: Node) -> tuple[int, str]:
    """Chinese first (zh, zh-CN, zh-Hans), then no language, then other Chinese, then any."""
    if not isinstance(value, Literal):
        return 4, str(value)
    language = (value.language or "").lower()
    if language in ("zh", "zh-cn", "zh-hans", "zh-hans-cn"):
        return 0, str(value)
    if not language:
        return 1, str(value)
    return (2 if language.startswith("zh") else 3), str(value)


def _objects(graph: Graph, node: Node | None, predicate: URIRef) -> list[Node]:
    if node is None:
        return []
    return sorted(graph.objects(node, predicate), key=_rank)


def _first(graph: Graph, node: Node, predicate: URIRef) -> Node | None:
    values = _objects(graph, node, predicate)
    return values[0] if values else None


def _text(graph: Graph, node: Node | None, predicate: URIRef) -> str:
    """The best value of `predicate` as text (a literal's lexical form, an IRI as a string;
    a blank node is not a text)."""
    for value in _objects(graph, node, predicate):
        if isinstance(value, Literal | URIRef) and str(value).strip():
            return str(value).strip()
    return ""


def _texts(graph: Graph, node: Node, predicate: URIRef) -> list[str]:
    """Every value of `predicate`, Chinese first, without repeats."""
    values = [str(v).strip() for v in _objects(graph, node, predicate) if isinstance(v, Literal | URIRef)]
    return list(dict.fromkeys(v for v in values if v))


def _label(graph: Graph, node: Node | None) -> str:
    for predicate in LABELS:
        text = _text(graph, node, predicate)
        if text:
            return text
    return ""
