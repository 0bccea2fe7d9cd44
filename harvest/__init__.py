"""Harvesting other catalogs into the zone catalog (Art. 7; REQUIREMENTS §6).

The city platform and departments' old exchange systems publish catalogs; a *source*
(`portal.models.HarvestSource`, managed by the Bureau in `sources`) names one of them and the
kind of its API. A *job* (`base.run_job`) reads every record of the source, maps it into the
catalog's fields and writes it through the catalog's own domain functions only
(`portal.catalog`, `portal.resources`, `portal.pipeline`, `portal.open_review`): never into
the tables directly.

- `fetch`: the only module that makes HTTP requests: timeouts, a byte cap applied after
  decompression, retries with backoff, and no request to loopback, private, link-local or
  metadata addresses (checked on the resolved address at every redirect) unless the source is
  allowed to by the Bureau.
- `records`: `RemoteRecord`, the neutral form every source kind parses its records into, and
  its content hash (change detection).
- one module per source kind, each parsing a remote catalog into `RemoteRecord`s:
  `ckan` (the Action API, paged, incremental), `dcat` (JSON-LD, Turtle, RDF/XML; Hydra
  paging, its pages read by `dcat_pages`), `datapackage` (a `datapackage.json` URL or a
  directory, its packages found by `datapackage_listing`).
- `mapping`: a `RemoteRecord` and the source's declared settings → the department and the
  `EntryFields` of a valid entry, or a failed item with the reason; `settings` (the settings,
  their defaults and checks) and `vocabulary` (remote words → the catalog's vocabularies) serve it.
- `base`: the job: GUID → entry table, idempotent upserts by content hash, per-item status,
  dry runs, the time limit; `jobs` decides full or incremental, refuses a second running job
  and finds what to archive; `writing` writes one record through the catalog's functions,
  `resource_files` its files through the upload pipeline; `preview` says what would change.
- `sources`: the Bureau's sources (add, change, check); beside it `org_mapping` (organization
  → department), `job_history` (jobs and their items for the report pages, the harvest:run
  audit) and `schedules` (which sources are due).

`KINDS` declares the source kinds (an extension point: a test checks each is documented).
"""

from __future__ import annotations

from portal.vocab import N_

KINDS: dict[str, str] = {
    "ckan": N_("CKAN 接口（Action API）"),
    "dcat": N_("DCAT 目录（JSON-LD、Turtle、RDF/XML）"),
    "datapackage": N_("Frictionless 数据包（datapackage.json）"),
}
SCHEDULES: dict[str, str] = {
    "manual": N_("手动"),
    "daily": N_("每天"),
    "weekly": N_("每周"),
    "monthly": N_("每月"),
}
STATUSES: dict[str, str] = {
    "added": N_("新增"),
    "updated": N_("更新"),
    "unchanged": N_("未变化"),
    "archived": N_("已归档"),
    "failed": N_("失败"),
}
