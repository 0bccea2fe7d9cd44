"""The catalog in CKAN's words: the domain side of the CKAN-compatible Action API
(`web.ckan_views` is the HTTP side: routes, request data, CKAN's envelope and status codes).

CKAN's words for ours (GLOSSARY), at this edge only:

    package (dataset)  an entry; `name` is its slug, `id` a UUID made from its number (`make_id`)
    resource           a current resource file of an entry; `id` is made from the number of the
                       file's first revision, so it stays the same when a new revision replaces it
    organization       a department; `name` is its unified social credit code in lower case
    group              a top class of the classification: the first three digits of the
                       classification code (kind digit + 大类), named e.g. ``theme-205``, titled
                       with the first segment of the classification path (生态环保)
    tag                a keyword
    state              active = published, draft = draft, deleted = withdrawn
    private            not in the public open catalog (published 无条件开放 or 依申请开放)

The catalog's own fields travel as `extras` (`EXTRAS`: key/value strings, the data items as a
JSON string). Every action is a plain function `(call, data) -> result` registered in `ACTIONS`;
it sees and changes only what the caller may, by the rules the pages use (`authz.can`,
`browse.visible_clause`, `serving.released_files`, `data_requests.active_grant`) through the
same domain functions (`catalog`, `pipeline.ingest`, `accounts.create_department`). Errors are
the portal's own (`Invalid`, `NotFound`, `Forbidden`, `Conflict`); the view turns them into CKAN's.

The package, by feature (each module says what it owns):

    common               limits, vocabulary, identifiers, a call, parameters, bulk services, errors
    lookups              an entry, department, group or resource file by what a call names
    dicts                package, resource, organization and group dicts
    read                 the show and list actions
    filters, search      package_search: fq; q, sort, facets
    write                package_* and resource_* writes (uploads through the pipeline)
    write_organizations  organization_create and organization_update

This module is the public surface (what `web.ckan_views`, the tests and the rest import) and the
registry of actions, `ACTIONS`, with help_show, which reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from .common import (
    BULK_ROWS, CKAN_VERSION, ENTRY_FIELDS, ERROR_KEYS, EXTRAS, FACET_LIMIT, FILE_NOT_FOUND, GROUP_DATASETS, GROUP_LIST_MAX, KIND_OF_DIGIT,
    MAX_TEXT_MATCHES, NOT_FOUND, ORG_DATASETS, READ_ONLY_EXTRAS, ROWS_DEFAULT, ROWS_MAX, SITE_TITLE, STATES, Call, Denied, Links, Upload,
    _required, ckan_errors, group_name, make_id, needs_bulk, organization_name, read_id,
)
from .dicts import active_grants, organization_dict, package_dict, package_dicts, resource_dict
from .filters import DATE_FIELDS, FQ_FIELDS, INDEX_FILTERS, Clause, parse_fq
from .read import (
    current_package_list_with_resources, group_list, group_show, organization_list, organization_show, package_list, package_show,
    resource_show, status_show, tag_list,
)
from .search import FACET_FIELDS, PINYIN_SORTS, SORT_COLUMNS, SORTS, package_search, parse_sort
from .write import (
    package_create, package_delete, package_patch, package_update, resource_create, resource_delete, resource_update,
)
from .write_organizations import organization_create, organization_update


# -- help_show: the action that reads the registry -----------------------------------------


def help_show(call: Call, data: dict[str, Any]) -> str:
    """Return the help text of an API action.

    :param name: the action's name, e.g. ``package_search``
    :rtype: string
    """
    name = _required(data, "name")
    if name not in ACTIONS:
        raise NotFound("没有这个接口操作")
    return ACTIONS[name].help


# -- the actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    function: Callable[[Call, dict[str, Any]], Any]
    write: bool = False  # POST only, with a key of the write scope

    @property
    def help(self) -> str:
        return (self.function.__doc__ or "").strip()


ACTIONS: dict[str, ActionSpec] = {
    **{f.__name__: ActionSpec(f) for f in (
        package_search, package_show, package_list, current_package_list_with_resources, organization_list,
        organization_show, group_list, group_show, tag_list, resource_show, status_show, help_show,
    )},
    **{f.__name__: ActionSpec(f, write=True) for f in (
        organization_create, organization_update, package_create, package_update, package_patch, package_delete,
        resource_create, resource_update, resource_delete,
    )},
}


def call_action(call: Call, name: str, data: dict[str, Any]) -> Any:
    """Run the action `name` (the caller checked that it exists)."""
    return ACTIONS[name].function(call, data)


__all__ = [
    # the actions' registry and a call, as the view uses them (the original __all__)
    "ACTIONS", "Call", "Denied", "Links", "Upload", "call_action", "make_id", "needs_bulk", "parse_fq", "read_id",
    # the rest of the public surface, re-exported from the modules
    "ActionSpec", "ckan_errors", "group_name", "organization_name",
    "active_grants", "organization_dict", "package_dict", "package_dicts", "resource_dict",
    "Clause", "parse_sort", "DATE_FIELDS", "FQ_FIELDS", "INDEX_FILTERS", "FACET_FIELDS", "PINYIN_SORTS", "SORT_COLUMNS", "SORTS",
    "BULK_ROWS", "CKAN_VERSION", "ENTRY_FIELDS", "ERROR_KEYS", "EXTRAS", "FACET_LIMIT", "FILE_NOT_FOUND", "GROUP_DATASETS",
    "GROUP_LIST_MAX", "KIND_OF_DIGIT", "MAX_TEXT_MATCHES", "NOT_FOUND", "ORG_DATASETS", "READ_ONLY_EXTRAS", "ROWS_DEFAULT", "ROWS_MAX",
    "SITE_TITLE", "STATES",
    # the actions
    "package_search", "package_show", "package_list", "current_package_list_with_resources", "organization_list",
    "organization_show", "group_list", "group_show", "tag_list", "resource_show", "status_show", "help_show",
    "organization_create", "organization_update", "package_create", "package_update", "package_patch", "package_delete",
    "resource_create", "resource_update", "resource_delete",
]
