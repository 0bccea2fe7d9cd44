"""DCAT (DCAT-AP 3 where it fits): the graphs of a page of the catalog (with Hydra paging) and of
one entry, the portal's own vocabulary (`vocabulary_graph`), and their JSON-LD or Turtle. `Links`,
the site's addresses the web layer builds, names every node; the vocabularies the catalog's
fields map to (EU frequency, access right, file type; IANA media types) are here too.

A file's download link is only there where `authz.can(viewer, DOWNLOAD)` holds (`_download`,
which the schema.org block shares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from ..authz import Action, can
from ..models import Entry, EntryFile, User
from ..serving import hidden_columns, released_files
from ..vocab import ClassificationKind, EntryStatus, OpenType, SecurityLevel, ShareType, UpdateCycle
from .reading import CatalogPage

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")
CHINESE = URIRef(EU + "language/ZHO")

CATALOG_TITLE = "合肥经济技术开发区政务数据资源目录"
CATALOG_DESCRIPTION = "合肥经济技术开发区政务数据共享开放平台的数据资源目录：各区属部门编制的政务数据资源及其数据文件。"
CATALOG_PUBLISHER = "合肥经济技术开发区数据资源局"
LANG = "zh"

# The update cycle in the EU frequency vocabulary.
FREQUENCIES = {
    UpdateCycle.REALTIME: "UPDATE_CONT",
    UpdateCycle.DAILY: "DAILY",
    UpdateCycle.WEEKLY: "WEEKLY",
    UpdateCycle.MONTHLY: "MONTHLY",
    UpdateCycle.QUARTERLY: "QUARTERLY",
    UpdateCycle.HALF_YEARLY: "ANNUAL_2",
    UpdateCycle.YEARLY: "ANNUAL",
    UpdateCycle.IRREGULAR: "IRREG",
}
# The open type in the EU access-right vocabulary.
ACCESS_RIGHTS = {OpenType.OPEN: "PUBLIC", OpenType.ON_APPLICATION: "RESTRICTED", OpenType.CLOSED: "NON_PUBLIC"}
# A stored file's format: (EU file type, IANA media type).
FILE_TYPES = {
    "csv": ("CSV", "text/csv"),
    "tsv": ("TSV", "text/tab-separated-values"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "xls": ("XLS", "application/vnd.ms-excel"),
    "json": ("JSON", "application/json"),
    "geojson": ("GEOJSON", "application/geo+json"),
    "xml": ("XML", "application/xml"),
    "txt": ("TXT", "text/plain"),
    "pdf": ("PDF", "application/pdf"),
    "zip": ("ZIP", "application/zip"),
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "gif": ("GIF", "image/gif"),
    "docx": ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "doc": ("DOC", "application/msword"),
}
# The catalog's own fields: property name -> (entry attribute, vocabulary or None for text).
PORTAL_FIELDS: dict[str, tuple[str, Any]] = {
    "shareType": ("share_type", ShareType),
    "shareCondition": ("share_condition", None),
    "shareMethod": ("share_method", None),
    "legalBasis": ("legal_basis", None),
    "openType": ("open_type", OpenType),
    "openCondition": ("open_condition", None),
    "updateCycle": ("update_cycle", UpdateCycle),
    "securityLevel": ("security_level", SecurityLevel),
    "status": ("status", EntryStatus),
    "usageRequirements": ("usage_requirements", None),
    "formatType": ("format_type", None),
}
CODES = frozenset({"formatType"})  # fields holding codes, not Chinese text
VOCABULARIES = {"ShareType": ShareType, "OpenType": OpenType, "UpdateCycle": UpdateCycle, "SecurityLevel": SecurityLevel, "EntryStatus": EntryStatus}
PROPERTY_LABELS = {
    "shareType": "共享类型", "shareCondition": "共享条件", "shareMethod": "共享方式", "legalBasis": "不予共享依据",
    "openType": "开放类型", "openCondition": "开放条件", "updateCycle": "更新周期", "securityLevel": "安全级别",
    "status": "目录状态", "usageRequirements": "使用要求", "formatType": "资源格式类型",
    "personalInformation": "含个人信息", "relatedResourceCode": "关联资源代码",
}
CONTEXT_PREFIXES = frozenset({"dcat", "dct", "foaf", "skos", "vcard", "hydra", "spdx", "xsd", "rdf", "rdfs", "portal"})


@dataclass(frozen=True)
class Links:
    """Absolute addresses of the site's pages, built by the web layer."""

    home: str
    catalog: str  # the HTML catalog list
    vocabulary: str  # the document that defines the portal's terms; its IRI + "#" is their namespace
    entry_page: Callable[[str], str]  # slug
    department_page: Callable[[int], str]  # department id
    file_page: Callable[[str, int], str]  # slug, file id
    file_download: Callable[[str, int, str], str]  # slug, file id, file name: the original
    file_export: Callable[[str, int, str], str]  # slug, file id, format key: a table in a download format

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.vocabulary + "#")

    @property
    def catalog_iri(self) -> URIRef:
        return URIRef(self.catalog + "#catalog")

    def dataset(self, entry: Entry) -> URIRef:
        return URIRef(self.entry_page(entry.slug) + "#dataset")

    def organization(self, department_id: int) -> URIRef:
        return URIRef(self.department_page(department_id) + "#organization")

    def scheme(self) -> URIRef:
        return self.namespace["classification"]

    def concept(self, code: str) -> URIRef:
        return self.namespace[f"classification-{code}"]

    def term(self, value: Any) -> URIRef:
        """The concept of a vocabulary member, e.g. `<ns>#ShareType-unconditional`."""
        return self.namespace[f"{type(value).__name__}-{value.value}"]


def new_graph(links: Links) -> Graph:
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS), ("vcard", VCARD),
                              ("hydra", HYDRA), ("spdx", SPDX), ("xsd", XSD), ("portal", links.namespace)):
        graph.bind(prefix, namespace, replace=True)
    return graph


def _text(value: str) -> Literal:
    return Literal(value, lang=LANG)


def _add_catalog(graph: Graph, links: Links) -> URIRef:
    catalog = links.catalog_iri
    publisher = URIRef(links.home + "#publisher")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, _text(CATALOG_TITLE)))
    graph.add((catalog, DCTERMS.description, _text(CATALOG_DESCRIPTION)))
    graph.add((catalog, DCTERMS.publisher, publisher))
    graph.add((catalog, DCTERMS.language, CHINESE))
    graph.add((catalog, FOAF.homepage, URIRef(links.home)))
    graph.add((catalog, DCAT.themeTaxonomy, links.scheme()))
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, _text(CATALOG_PUBLISHER)))
    graph.add((publisher, DCTERMS.type, LOCAL_AUTHORITY))
    graph.add((links.scheme(), RDF.type, SKOS.ConceptScheme))
    graph.add((links.scheme(), DCTERMS.title, _text("政务数据资源分类（基础、主题、部门）")))
    return catalog


def _add_theme(graph: Graph, links: Links, entry: Entry) -> URIRef:
    """The entry's classification as a concept under its top class (基础/主题/部门)."""
    scheme, concept = links.scheme(), links.concept(entry.classification_code)
    kind: ClassificationKind = entry.classification_kind
    top = links.concept(kind.value)
    graph.add((top, RDF.type, SKOS.Concept))
    graph.add((top, SKOS.prefLabel, _text(kind.label)))
    graph.add((top, SKOS.topConceptOf, scheme))
    graph.add((top, SKOS.inScheme, scheme))
    graph.add((concept, RDF.type, SKOS.Concept))
    graph.add((concept, SKOS.prefLabel, _text(entry.classification_path)))
    graph.add((concept, SKOS.notation, Literal(entry.classification_code)))
    graph.add((concept, SKOS.inScheme, scheme))
    graph.add((concept, SKOS.broader, top))
    return concept


def _add_publisher(graph: Graph, links: Links, entry: Entry) -> URIRef:
    department = entry.department
    organization = links.organization(department.id)
    page = URIRef(links.department_page(department.id))
    graph.add((organization, RDF.type, FOAF.Organization))
    graph.add((organization, FOAF.name, _text(department.name)))
    graph.add((organization, DCTERMS.identifier, Literal(department.code)))  # unified social credit code
    graph.add((organization, DCTERMS.type, LOCAL_AUTHORITY))
    graph.add((organization, FOAF.homepage, page))
    contact = URIRef(links.department_page(department.id) + "#contact")
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, _text(department.name)))
    graph.add((contact, VCARD.hasURL, page))
    return organization


def _download(viewer: User | None, entry: Entry, record: EntryFile, hidden: set[str], links: Links) -> tuple[str, str] | None:
    """What `viewer` downloads of `record`: (URL, format key of FILE_TYPES), None if nothing. With
    columns withheld, the original is refused and a table comes as CSV without them."""
    if not can(viewer, Action.DOWNLOAD, entry):
        return None
    if not hidden:
        return links.file_download(entry.slug, record.id, record.name), record.format
    if record.tabular:
        return links.file_export(entry.slug, record.id, "csv"), "csv"
    return None


def _add_distribution(graph: Graph, links: Links, viewer: User | None, entry: Entry, record: EntryFile, hidden: set[str]) -> URIRef:
    page = links.file_page(entry.slug, record.id)
    node = URIRef(page + "#distribution")
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, _text(record.title or record.name)))
    graph.add((node, DCAT.accessURL, URIRef(page)))
    graph.add((node, DCTERMS.issued, Literal(record.created_at)))
    download = _download(viewer, entry, record, hidden, links)
    fmt = download[1] if download else record.format
    if fmt in FILE_TYPES:
        eu_type, media_type = FILE_TYPES[fmt]
        graph.add((node, DCTERMS.format, URIRef(EU + "file-type/" + eu_type)))
        graph.add((node, DCAT.mediaType, URIRef(IANA + media_type)))
    if download is None or not hidden:  # the file as stored (the entry page shows its size too)
        graph.add((node, DCAT.byteSize, Literal(record.size, datatype=XSD.nonNegativeInteger)))
    if download is not None:
        graph.add((node, DCAT.downloadURL, URIRef(download[0])))
    if download is not None and not hidden:  # a checksum only of what the viewer may download
        checksum = BNode()
        graph.add((node, SPDX.checksum, checksum))
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        graph.add((checksum, SPDX.checksumValue, Literal(record.sha256, datatype=XSD.hexBinary)))
    return node


def add_dataset(graph: Graph, links: Links, viewer: User | None, entry: Entry, modified: datetime) -> URIRef:
    """The DCAT description of `entry` as `viewer` sees it."""
    dataset = links.dataset(entry)
    ns = links.namespace
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, _text(entry.title)))
    graph.add((dataset, DCTERMS.description, _text(entry.abstract or entry.title)))
    graph.add((dataset, DCTERMS.identifier, Literal(entry.resource_code)))
    graph.add((dataset, DCTERMS.language, CHINESE))
    graph.add((dataset, DCTERMS.publisher, _add_publisher(graph, links, entry)))
    graph.add((dataset, DCAT.contactPoint, URIRef(links.department_page(entry.department_id) + "#contact")))
    graph.add((dataset, DCAT.theme, _add_theme(graph, links, entry)))
    for keyword in entry.keywords or []:
        graph.add((dataset, DCAT.keyword, _text(keyword)))
    if entry.publish_date:
        graph.add((dataset, DCTERMS.issued, Literal(entry.publish_date, datatype=XSD.date)))
    graph.add((dataset, DCTERMS.modified, Literal(modified)))
    graph.add((dataset, DCTERMS.accrualPeriodicity, URIRef(EU + "frequency/" + FREQUENCIES[entry.update_cycle])))
    graph.add((dataset, DCTERMS.accessRights, URIRef(EU + "access-right/" + ACCESS_RIGHTS[entry.open_type])))
    page = URIRef(links.entry_page(entry.slug))
    graph.add((dataset, DCAT.landingPage, page))
    graph.add((page, RDF.type, FOAF.Document))
    for name, (attribute, vocabulary) in PORTAL_FIELDS.items():
        value = getattr(entry, attribute)
        if vocabulary is not None:
            graph.add((dataset, ns[name], links.term(value)))
        elif value:
            graph.add((dataset, ns[name], Literal(value) if name in CODES else _text(value)))
    graph.add((dataset, ns.personalInformation, Literal(bool(entry.personal_information))))
    for code in entry.related_codes or []:
        graph.add((dataset, ns.relatedResourceCode, Literal(code)))
    hidden = hidden_columns(viewer, entry)
    for record in released_files(viewer, entry):
        graph.add((dataset, DCAT.distribution, _add_distribution(graph, links, viewer, entry, record, hidden)))
    return dataset


def catalog_graph(page: CatalogPage, viewer: User | None, links: Links, page_url: Callable[[int], str]) -> Graph:
    """A page of the catalog with Hydra paging: the catalog's `hydra:view` is this page, a
    `hydra:PartialCollectionView` with first, last, and previous and next where they exist."""
    graph = new_graph(links)
    catalog = _add_catalog(graph, links)
    graph.add((catalog, RDF.type, HYDRA.Collection))
    graph.add((catalog, HYDRA.totalItems, Literal(page.total, datatype=XSD.nonNegativeInteger)))
    view = URIRef(page_url(page.page))
    graph.add((catalog, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.first, URIRef(page_url(1))))
    graph.add((view, HYDRA.last, URIRef(page_url(page.last))))
    if page.page > 1:
        graph.add((view, HYDRA.previous, URIRef(page_url(min(page.page - 1, page.last)))))
    if page.page < page.last:
        graph.add((view, HYDRA.next, URIRef(page_url(page.page + 1))))
    for entry, modified in page.entries:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, links, viewer, entry, modified)))
    return graph


def entry_graph(entry: Entry, modified: datetime, viewer: User | None, links: Links) -> Graph:
    """One entry, with the catalog it belongs to."""
    graph = new_graph(links)
    catalog = _add_catalog(graph, links)
    graph.add((catalog, DCAT.dataset, add_dataset(graph, links, viewer, entry, modified)))
    return graph


def vocabulary_graph(links: Links) -> Graph:
    """The portal's terms: a property per catalog field, a concept scheme per vocabulary."""
    graph = new_graph(links)
    ns = links.namespace
    ontology = URIRef(links.vocabulary)
    graph.add((ontology, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Ontology")))
    graph.add((ontology, DCTERMS.title, _text("经开区政务数据资源目录的元数据项")))
    graph.add((ontology, RDFS.seeAlso, URIRef(links.home)))
    for name, label in PROPERTY_LABELS.items():
        graph.add((ns[name], RDF.type, RDF.Property))
        graph.add((ns[name], RDFS.label, _text(label)))
        graph.add((ns[name], RDFS.isDefinedBy, ontology))
        graph.add((ns[name], RDFS.domain, DCAT.Dataset))
        vocabulary = PORTAL_FIELDS.get(name, ("", None))[1]
        if vocabulary is not None:
            graph.add((ns[name], RDFS.range, SKOS.Concept))
    for scheme_name, vocabulary in VOCABULARIES.items():
        scheme = ns[scheme_name]
        graph.add((scheme, RDF.type, SKOS.ConceptScheme))
        for member in vocabulary:
            concept = links.term(member)
            graph.add((concept, RDF.type, SKOS.Concept))
            graph.add((concept, SKOS.prefLabel, _text(member.label)))
            graph.add((concept, SKOS.notation, Literal(member.value)))
            graph.add((concept, SKOS.inScheme, scheme))
            graph.add((concept, SKOS.topConceptOf, scheme))
    return graph


def serialize(graph: Graph, fmt: str) -> bytes:
    """`graph` as compact JSON-LD (`fmt` "jsonld", the graph's prefixes as its context) or Turtle."""
    if fmt == "jsonld":
        context = {prefix: str(namespace) for prefix, namespace in graph.namespaces() if prefix in CONTEXT_PREFIXES}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, indent=1).encode("utf-8")
    return graph.serialize(format="turtle").encode("utf-8")
