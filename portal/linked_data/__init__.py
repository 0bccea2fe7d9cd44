"""The catalog as linked data: DCAT (DCAT-AP 3 where it fits) graphs of a page of the catalog and
of one entry, the portal's own vocabulary, schema.org Dataset JSON for entry pages, and the
entries a sitemap lists.

Everything is computed for a viewer exactly like the HTML catalog: the entries of
`browse.visible_clause`, the files of `serving.released_files`, download links only where
`authz.can(viewer, DOWNLOAD)` holds (and, when columns are withheld from the viewer, the table
without them instead of the original). Addresses come from a `Links` the web layer builds; this
module never imports Flask.

IRIs: the catalog is `<catalog list page>#catalog`, an entry `<entry page>#dataset`, a file
`<resource page>#distribution`, a department `<department page>#organization`. The catalog's
own fields (share type, open type, update cycle, security level ...) use the namespace
`<vocabulary document>#` (`/ns`), whose terms `vocabulary_graph` defines.

The package, by feature (each module says what it owns):

    reading    which entries a viewer sees, a page of them, their last modification, the sitemap's entries
    dcat       `Links`, the DCAT graphs of the catalog and an entry, the vocabulary, serializing
    schemaorg  the schema.org Dataset JSON of entry pages

This module is the public surface: what `web.linked_data_views`, `harvest.dcat` and the tests import.
"""

from __future__ import annotations

from .dcat import (
    ACCESS_RIGHTS, CATALOG_DESCRIPTION, CATALOG_PUBLISHER, CATALOG_TITLE, CHINESE, CODES, CONTEXT_PREFIXES, EU, FILE_TYPES,
    FREQUENCIES, HYDRA, IANA, LANG, LOCAL_AUTHORITY, PORTAL_FIELDS, PROPERTY_LABELS, SPDX, VCARD, VOCABULARIES, Links, add_dataset,
    catalog_graph, entry_graph, new_graph, serialize, vocabulary_graph,
)
from .reading import (
    CHINA, MAX_PAGE_SIZE, PAGE_SIZE, CatalogPage, catalog_page, last_modified, modified_column, parse_paging, parse_time,
    sitemap_entries,
)
from .schemaorg import html_safe_json, schema_org

__all__ = [
    # vocabularies and constants
    "HYDRA", "VCARD", "SPDX", "EU", "IANA", "LOCAL_AUTHORITY", "CHINESE", "CHINA", "CATALOG_TITLE", "CATALOG_DESCRIPTION",
    "CATALOG_PUBLISHER", "LANG", "FREQUENCIES", "ACCESS_RIGHTS", "FILE_TYPES", "PORTAL_FIELDS", "CODES", "VOCABULARIES",
    "PROPERTY_LABELS", "CONTEXT_PREFIXES", "PAGE_SIZE", "MAX_PAGE_SIZE",
    # addresses
    "Links",
    # reading the catalog
    "modified_column", "CatalogPage", "parse_time", "parse_paging", "catalog_page", "last_modified", "sitemap_entries",
    # DCAT
    "new_graph", "add_dataset", "catalog_graph", "entry_graph", "vocabulary_graph", "serialize",
    # schema.org
    "schema_org", "html_safe_json",
]
