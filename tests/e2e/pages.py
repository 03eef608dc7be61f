"""Every page of the registry and the roles that may open it: the one list the phone-width
and accessibility browser test walks (tests/e2e/test_every_page.py).

A page added later is one line here. ``path`` is formatted with the ids of the study that
test builds (``StudyIds``); ``roles`` are the users of tests/people.py by role.
"""

from __future__ import annotations

from dataclasses import dataclass

COORDINATOR = "coordinator"
INVESTIGATOR = "investigator"
DATA_MANAGER = "data_manager"
PI = "pi"
ADMIN = "admin"

EVERYONE = frozenset({COORDINATOR, INVESTIGATOR, DATA_MANAGER, PI, ADMIN})
CRF_EDITORS = frozenset({COORDINATOR, INVESTIGATOR, DATA_MANAGER, ADMIN})
SITE_STAFF = frozenset({COORDINATOR, INVESTIGATOR})
REVIEWERS = frozenset({DATA_MANAGER})
STUDY_WIDE = frozenset({DATA_MANAGER, PI, ADMIN})
# Who opens the centre's queries and data-quality lists ("my work" and its neighbours).
QUALITY_READERS = frozenset({COORDINATOR, INVESTIGATOR, DATA_MANAGER})


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    roles: frozenset[str]
    # Selectors whose first match must lie inside the phone's width (not scrolled away).
    on_screen: tuple[str, ...] = ()


PAGES: tuple[Page, ...] = (
    Page("patient list", "/", EVERYONE, ("td.col-status", "td.col-completeness")),
    Page("patient list, filtered and sorted", "/?status=in_progress&sort=-study_id", EVERYONE),
    Page("register a patient", "/patients/register/", CRF_EDITORS),
    Page("casebook in progress", "/patients/{open}/", EVERYONE),
    Page("casebook locked", "/patients/{locked}/", EVERYONE),
    Page("casebook of a screen failure", "/patients/{screen_failed}/", EVERYONE),
    Page("printable casebook", "/patients/{locked}/print/", EVERYONE),
    Page("history", "/patients/{open}/history/", EVERYONE),
    Page("form of a part", "/patients/{open}/baseline/", CRF_EDITORS),
    Page("form of a new row", "/patients/{open}/adverse-events/add/", CRF_EDITORS),
    Page("form of a row", "/patients/{open}/adverse-events/{adverse_event}/", CRF_EDITORS),
    Page("delete a row", "/patients/{open}/adverse-events/{adverse_event}/delete/", CRF_EDITORS),
    Page("sign and lock", "/patients/{complete}/sign/", frozenset({INVESTIGATOR, DATA_MANAGER})),
    Page("unlock", "/patients/{locked}/unlock/", frozenset({DATA_MANAGER})),
    Page("dashboard", "/analytics/", EVERYONE),
    Page("analysis plan", "/analytics/plan/", frozenset({PI, ADMIN})),
    Page("publication", "/publication/pack/", STUDY_WIDE),
    Page("data cuts", "/publication/cuts/", STUDY_WIDE),
    Page("exports", "/exports/", EVERYONE),
    Page("imports", "/imports/", CRF_EDITORS),
    Page("audit trail", "/audit/", EVERYONE),
    Page("my work", "/quality/my-work/", EVERYONE),
    Page("queries", "/quality/queries/", EVERYONE),
    Page("query", "/quality/queries/{query}/", EVERYONE),
    Page("raise a query", "/quality/queries/new/?patient={open}&section=baseline", REVIEWERS),
    Page("source data verification", "/quality/verification/", EVERYONE),
    Page("data-quality rules", "/quality/rules/", EVERYONE),
    Page("notifications", "/quality/notifications/", EVERYONE),
    Page("notification preferences", "/quality/notifications/preferences/", EVERYONE),
    Page("API tokens", "/profile/tokens/", EVERYONE),
    Page("change password", "/account/password/", EVERYONE),
    Page("two-factor sign-in", "/account/two-factor/", EVERYONE),
)

# Pages seen before signing in.
ANONYMOUS_PAGES: tuple[Page, ...] = (Page("sign in", "/login/", frozenset()),)
