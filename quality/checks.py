"""The data-quality rules' service: compute every rule's hits, then sync the automatic queries.

``rules_run`` is the one write. It runs each rule of ``quality.rules`` once over the scope
(one query per rule), reads the scope's automatic queries once, and then, in bulk:
- opens one query per new hit of an error or warning rule (origin ``rule``, no raiser),
  with its first message and an ``AuditEvent``, as ``query_raise`` would;
- closes, as nobody, every unresolved automatic query whose hit has gone (the data were
  corrected), with a closing message and an ``AuditEvent``.
A query closed by a data manager while its hit persists stays closed: there is one
automatic query per rule and record, ever (a database constraint says so), so a re-run
neither re-opens nor duplicates it. Running twice therefore changes nothing the second
time; two runs racing on the same new hit make one of them fail on the constraint, and the
task retries (it then finds the other's query).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from quality.models import Query, QueryMessage, QueryStatus
from quality.rules import RULE_CLOSED_CODE, RULE_CLOSED_MESSAGE, RULES, Rule, source_text
from quality.selectors import UNRESOLVED
from registry.models import REPEATING_SECTIONS, AuditEvent, Patient

# Stored in English (the source string) with its code; pages translate it (rules.message_text).
CLOSE_TEXT = source_text(RULE_CLOSED_MESSAGE)
BATCH = 2000  # rows per INSERT and ids per IN (…): well under SQLite's variable limit

Hit = tuple[int, int | None]
Key = tuple[str, int, int | None]


def rule_hits(scope: QuerySet[Patient], rules: Iterable[Rule] = RULES) -> dict[str, set[Hit]]:
    """Every rule's hits in ``scope``: one query per rule."""
    return {rule.code: set(rule.hits(scope)) for rule in rules}


def _record(rule: Rule, record_id: int | None) -> int | None:
    # Only a repeating part's row is named; a single part is named by its section alone.
    return record_id if rule.section in REPEATING_SECTIONS else None


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rules_run(patient_ids: Iterable[int] | None = None) -> dict:
    """Check every rule over all patients (or the given ones) and sync the automatic queries.

    Returns ``{"hits": {code: n}, "opened": n, "closed": n}``.
    """
    scope = Patient.objects.all()
    queries = Query.objects.filter(origin=Query.Origin.RULE)
    if patient_ids is not None:
        ids = sorted(set(patient_ids))
        scope = scope.filter(pk__in=ids)
        queries = queries.filter(patient_id__in=ids)
    hits = rule_hits(scope)
    wanted: dict[Key, Rule] = {}
    for rule in RULES:
        if rule.opens_query:
            for patient_id, record_id in hits[rule.code]:
                wanted[(rule.code, patient_id, _record(rule, record_id))] = rule
    with transaction.atomic():
        existing = {
            (code, patient_id, record_id): (pk, status)
            for pk, code, patient_id, record_id, status in queries.values_list(
                "pk", "rule_code", "patient_id", "record_id", "status"
            )
        }
        opened = _open([(key, rule) for key, rule in wanted.items() if key not in existing])
        gone = [
            pk
            for key, (pk, status) in existing.items()
            if status in UNRESOLVED and key not in wanted
        ]
        closed = _close(gone)
    return {
        "hits": {code: len(found) for code, found in hits.items()},
        "opened": opened,
        "closed": closed,
    }


def _open(new: list[tuple[Key, Rule]]) -> int:
    if not new:
        return 0
    now = timezone.now()
    created: list[Query] = []
    for batch in _chunks(new):
        created += Query.objects.bulk_create(
            [
                Query(
                    patient_id=patient_id,
                    section=rule.section,
                    record_id=record_id,
                    field=rule.field,
                    origin=Query.Origin.RULE,
                    rule_code=code,
                    raised_by=None,
                    raised_at=now,
                )
                for (code, patient_id, record_id), rule in batch
            ]
        )
    # English whatever language the run happens in (a coordinator's save runs it in their
    # request when there is no broker); the code lets a page show it in the reader's language.
    texts = [source_text(rule.message) for _key, rule in new]
    QueryMessage.objects.bulk_create(
        [
            QueryMessage(
                query=query,
                kind=QueryMessage.Kind.RAISE,
                text=text,
                at=now,
                detail={"message_code": rule.message_code},
            )
            for query, text, (_key, rule) in zip(created, texts, new, strict=True)
        ],
        batch_size=BATCH,
    )
    AuditEvent.objects.bulk_create(
        [
            _audit_event(query, AuditEvent.Action.QUERY_RAISE, text)
            for query, text in zip(created, texts, strict=True)
        ],
        batch_size=BATCH,
    )
    return len(created)


def _close(pks: list[int]) -> int:
    """Close the unresolved automatic queries among ``pks``, as nobody."""
    now = timezone.now()
    closed = 0
    for batch in _chunks(pks):
        # Locked first, so a data manager closing one at the same moment is not overwritten.
        rows = list(
            Query.objects.select_for_update()
            .filter(pk__in=batch, status__in=UNRESOLVED)
            .only("pk", "patient_id", "section", "record_id", "field", "rule_code")
        )
        if not rows:
            continue
        Query.objects.filter(pk__in=[q.pk for q in rows]).update(
            status=QueryStatus.CLOSED, closed_at=now, closed_by=None
        )
        QueryMessage.objects.bulk_create(
            [
                QueryMessage(
                    query=q,
                    kind=QueryMessage.Kind.CLOSE,
                    text=CLOSE_TEXT,
                    at=now,
                    detail={"message_code": RULE_CLOSED_CODE},
                )
                for q in rows
            ]
        )
        AuditEvent.objects.bulk_create(
            [_audit_event(q, AuditEvent.Action.QUERY_CLOSE, CLOSE_TEXT) for q in rows]
        )
        closed += len(rows)
    return closed


def _audit_event(query: Query, action: str, text: str) -> AuditEvent:
    return AuditEvent(
        user=None,
        patient_id=query.patient_id,
        action=action,
        detail={
            "query": query.pk,
            "section": query.section,
            "id": query.record_id,
            "field": query.field,
            "rule": query.rule_code,
        },
        reason=text,
    )
