"""The database tables, as SQLAlchemy 2.x typed models, one module per part of the product:
`catalog` (departments, users, entries, files), `workflows` (audit trail, calendar, the
statutory workflows), `access` (real names, API keys, quotas), `harvest`, `outreach` (plans, competitions,
showcases), `projects` (IT projects' pre-compiled catalogs), `security` (data security incidents).
Every table is importable from here.

Times are stored as naive UTC and read back as aware UTC (`UTCDateTime`), the same on SQLite
and PostgreSQL. Vocabulary columns store the stable ASCII value of their `Choice`.
"""

from .base import Base, UTCDateTime, choice
from .catalog import Department, User, Entry, DataItem, EntryFile, DownloadCount, EntryVersion, SearchOutbox
from .workflows import AuditEvent, CalendarYear, DataRequest, RequestEvent, Grant, ErrorReport, Adjustment, AdjustmentTarget, OpenReview, ClockRule, Notification
from .access import RealNameVerification, ApiKey, QuotaTier, UsageCounter
from .harvest import HarvestSource, HarvestOrgMapping, HarvestRecord, HarvestJob, HarvestItem
from .outreach import Competition, CompetitionDataset, CompetitionEntry, CompetitionEntryDataset, CompetitionJudge, CompetitionScore, Plan, PlanItem, Showcase, ShowcaseEntry
from .security import SecurityIncident, SecurityIncidentEntry, SecurityIncidentEvent
from .projects import ItProject, ItProjectEntry

__all__ = [
    "Base",
    "UTCDateTime",
    "choice",
    "Department",
    "User",
    "Entry",
    "DataItem",
    "EntryFile",
    "DownloadCount",
    "EntryVersion",
    "SearchOutbox",
    "AuditEvent",
    "CalendarYear",
    "DataRequest",
    "RequestEvent",
    "Grant",
    "ErrorReport",
    "Adjustment",
    "AdjustmentTarget",
    "OpenReview",
    "ClockRule",
    "Notification",
    "RealNameVerification",
    "ApiKey",
    "QuotaTier",
    "UsageCounter",
    "HarvestSource",
    "HarvestOrgMapping",
    "HarvestRecord",
    "HarvestJob",
    "HarvestItem",
    "Competition",
    "CompetitionDataset",
    "CompetitionEntry",
    "CompetitionEntryDataset",
    "CompetitionJudge",
    "CompetitionScore",
    "Plan",
    "PlanItem",
    "Showcase",
    "ShowcaseEntry",
    "ItProject",
    "ItProjectEntry",
    "SecurityIncident",
    "SecurityIncidentEntry",
    "SecurityIncidentEvent",
]
