"""In-app notifications and their emails.

Who is told what:

- a data manager opens (or re-opens) a query → the active coordinators of the patient's
  centre (``query_opened`` / ``query_reopened``). Queries opened by the data-quality rules
  notify nobody: a whole-cohort run may open thousands, and they are on the coordinators'
  "my work" list anyway;
- the site answers a query → the data manager who raised it, or, for a rule's query or a
  raiser who is no longer an active data manager, every active data manager
  (``query_answered``);
- a casebook is marked complete → the active investigators of its centre
  (``ready_to_sign``, from the registry's ``casebook_completed`` signal).

The rows are written in the same transaction as the event; the emails go after the commit
(``transaction.on_commit`` → the ``quality.send_notification_emails`` task), so a failed
write sends nothing and a failing mail server never fails the write. Each notification is
emailed at most once by a successful send (``emailed_at``, set in the transaction that
holds the row locked while the message goes out): at once, or in the daily digest
(``quality.send_notification_digests``, Celery beat), as ``NotificationPreference`` says.

What an email holds, in the language saved on the recipient's account (``User.language``;
empty: ``LANGUAGE_CODE``): the kind, the study id, the centre's code, the part and field
labels, and a link into the registry. Never an identifier (MRN, initials, names, date of
birth) and never a query's text: a coordinator's answer or a data manager's question may
quote anything, and email leaves the registry's access control.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import permissions
from core.errors import ApplicationError, field_error
from core.language import LANGUAGE_CODES
from core.roles import Role
from quality.models import Notification, NotificationPreference, Query
from registry import choices as c
from registry.models import MODEL_BY_SECTION, Patient, User
from registry.presenters import label
from registry.selectors import patients_visible_to

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Email = NotificationPreference.Email
# An immediate email that failed is sent with the next digest; this long after creation the
# immediate task has had its chance, so the digest does not race it.
IMMEDIATE_GRACE = timedelta(minutes=10)


# -- who is told -----------------------------------------------------------------------------


def _centre_staff(patient: Patient, role: Role) -> QuerySet[User]:
    return User.objects.filter(is_active=True, role=role, center_id=patient.center_id)


def _reviewers_of(query: Query) -> list[User]:
    raiser = query.raised_by
    if raiser is not None and permissions.can_review_queries(raiser):
        return [raiser]
    return list(User.objects.filter(is_active=True, role=Role.DATA_MANAGER))


def _where(query: Query | None) -> str:
    """Part and field as codes (``baseline weight_kg``): no values, no free text."""
    if query is None or not query.section:
        return "casebook"
    return " ".join(p for p in (query.section, query.field) if p)


def _summary(kind: str, patient: Patient, query: Query | None) -> str:
    if query is not None:
        return f"Query {query.pk} · {patient.study_id} · {_where(query)}"
    return f"{patient.study_id} · {patient.center.code}"


def _notify(
    kind: str, patient: Patient, recipients: Iterable[User], query: Query | None = None
) -> list[Notification]:
    """Write one notification per recipient; queue their emails for after the commit."""
    text = _summary(kind, patient, query)
    rows = Notification.objects.bulk_create(
        Notification(recipient=user, kind=kind, patient=patient, query=query, text=text)
        for user in {u.pk: u for u in recipients}.values()
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: queue_emails(ids))
    return rows


def notify_query_opened(query: Query, *, reopened: bool = False) -> list[Notification]:
    kind = Kind.QUERY_REOPENED if reopened else Kind.QUERY_OPENED
    return _notify(kind, query.patient, _centre_staff(query.patient, Role.COORDINATOR), query)


def notify_query_answered(query: Query) -> list[Notification]:
    return _notify(Kind.QUERY_ANSWERED, query.patient, _reviewers_of(query), query)


def notify_ready_to_sign(sender, patient: Patient, **kwargs) -> None:
    """Receiver of ``registry.signals.casebook_completed`` (sent after the commit)."""
    with transaction.atomic():
        _notify(Kind.READY_TO_SIGN, patient, _centre_staff(patient, Role.INVESTIGATOR))


def clear_ready_to_sign(sender, patient: Patient, **kwargs) -> None:
    """Receiver of ``registry.signals.casebook_locked``: once signed and locked, the
    casebook's "ready to sign" notifications are done, so they are marked read."""
    Notification.objects.filter(
        patient=patient, kind=Kind.READY_TO_SIGN, read_at__isnull=True
    ).update(read_at=timezone.now())


# -- the in-app list -------------------------------------------------------------------------


def notifications_for(user: User) -> QuerySet[Notification]:
    """The user's notifications about patients they may still see, newest first."""
    return Notification.objects.filter(
        recipient_id=user.pk, patient__in=patients_visible_to(user).values("pk")
    ).select_related("patient__center", "query")


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return notifications_for(user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread ones when no ids are given);
    returns how many changed. Another user's id changes nothing."""
    rows = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        rows = rows.filter(pk__in=list(notification_ids))
    return rows.update(read_at=timezone.now())


def preference_for(user: User) -> str:
    pref = NotificationPreference.objects.filter(user_id=user.pk).first()
    return pref.email if pref is not None else Email.IMMEDIATE


def preference_set(*, user: User, email: str) -> NotificationPreference:
    if not getattr(user, "is_authenticated", False):
        raise ApplicationError(_("Sign in first."))
    if email not in Email.values:
        raise field_error(
            "email",
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(Email.values)},
        )
    pref, _created = NotificationPreference.objects.update_or_create(
        user_id=user.pk, defaults={"email": email}
    )
    return pref


# -- email -----------------------------------------------------------------------------------


def _link(notification: Notification) -> str:
    if notification.query_id is not None:
        path = reverse("quality:query_detail", args=[notification.query_id])
    else:
        path = reverse("registry:casebook", args=[notification.patient.study_id])
    return settings.REGISTRY_BASE_URL + path


def _item(notification: Notification) -> dict:
    query = notification.query
    section = query.section if query is not None else ""
    return {
        "kind": notification.get_kind_display(),
        "study_id": notification.patient.study_id,
        "center": notification.patient.center.code,
        "query_id": notification.query_id,
        "part": str(c.Section(section).label) if section else "",
        # The field's label, as the form shows it; a label names no value.
        "field": label(MODEL_BY_SECTION[section], query.field) if section and query.field else "",
        "link": _link(notification),
    }


def recipient_language(user: User) -> str:
    """The language of a user's emails: the one saved on the account, else the default."""
    return user.language if user.language in LANGUAGE_CODES else settings.LANGUAGE_CODE


def _send(user: User, template: str, context_of: Callable[[], dict]) -> None:
    """Render and send one email in the recipient's language. ``context_of`` builds the
    context inside that language, since labels (kind, part) are translated as they are read;
    a worker or another user's request has a language of its own."""
    with translation.override(recipient_language(user)):
        context = {**context_of(), "user_name": user.get_username()}
        subject = render_to_string(f"quality/email/{template}_subject.txt", context)
        body = render_to_string(f"quality/email/{template}_body.txt", context)
    # A subject is one line: a template's trailing newline would be a header injection error.
    subject = " ".join(subject.split())
    EmailMessage(subject=subject, body=body, to=[user.email]).send()


def _one_context(notification: Notification) -> dict:
    return {"n": _item(notification)}


def _digest_context(rows: list[Notification]) -> dict:
    return {
        "items": [_item(n) for n in rows],
        "count": len(rows),
        "list_link": settings.REGISTRY_BASE_URL + reverse("quality:notification_list"),
    }


def _unsent(user_ids=None) -> QuerySet[Notification]:
    rows = Notification.objects.filter(emailed_at__isnull=True, recipient__is_active=True).exclude(
        recipient__email=""
    )
    return rows if user_ids is None else rows.filter(recipient_id__in=user_ids)


def send_immediate(notification_ids: list[int]) -> int:
    """Email each of these notifications whose recipient wants email at once; returns how
    many were sent. A row already emailed, or locked by another sender, is skipped."""
    sent = 0
    for notification_id in notification_ids:  # the recipients of one event: a handful
        with transaction.atomic():
            notification = (
                _unsent()
                .filter(pk=notification_id)
                .filter(
                    Q(recipient__notification_preference__isnull=True)
                    | Q(recipient__notification_preference__email=Email.IMMEDIATE)
                )
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient", "patient__center", "query")
                .first()
            )
            if notification is None:
                continue
            _send(notification.recipient, "notification", partial(_one_context, notification))
            Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
            sent += 1
    return sent


def send_digests(now=None) -> int:
    """One email per user with notifications not emailed yet: the daily-digest users', and
    an immediate email that failed earlier. Returns the number of emails sent; running it
    again sends nothing new. A failing send leaves that user's rows for the next run."""
    now = now or timezone.now()
    due = Q(recipient__notification_preference__email=Email.DAILY) | (
        (
            Q(recipient__notification_preference__isnull=True)
            | Q(recipient__notification_preference__email=Email.IMMEDIATE)
        )
        & Q(created_at__lte=now - IMMEDIATE_GRACE)
    )
    user_ids = list(
        # order_by(): the model's ordering would put created_at in the DISTINCT.
        _unsent()
        .filter(due, created_at__lte=now)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in user_ids:
        try:
            with transaction.atomic():
                rows = list(
                    _unsent([user_id])
                    .filter(due, created_at__lte=now)
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related("recipient", "patient__center", "query")
                    .order_by("created_at", "pk")
                )
                if not rows:
                    continue
                _send(rows[0].recipient, "digest", partial(_digest_context, rows))
                Notification.objects.filter(pk__in=[n.pk for n in rows]).update(emailed_at=now)
                sent += 1
        except Exception:  # noqa: BLE001 - one user's mailbox must not stop the others'
            logger.exception("notification digest for user %s failed", user_id)
    return sent


def queue_emails(notification_ids: list[int]) -> None:
    """After the commit: hand the immediate emails to a worker. Without a broker the task
    runs here, after the event committed; a failing mail server must not turn the saved
    answer into an error page, and the digest run sends what is left."""
    from quality.tasks import send_notification_emails

    try:
        send_notification_emails.delay(notification_ids)
    except Exception:  # noqa: BLE001
        logger.exception("notification emails %s failed; the digest run retries", notification_ids)
