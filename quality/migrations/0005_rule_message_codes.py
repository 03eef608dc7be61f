"""The thread messages the data-quality rules wrote before they kept a code: give them their
code (``detail["message_code"]``), so pages show them in the reader's language. Data only;
their English text stays as it is. A message a person wrote is not touched."""

from django.db import migrations

# The automatic close's text as quality.checks wrote it (English, unchanged since 0003).
RULE_CLOSED_TEXT = "The rule no longer applies: the data were corrected."
BATCH = 2000


def _in_batches(queryset):
    """Lists of rows by ascending pk, read before each batch is written (no open cursor)."""
    last = 0
    while batch := list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH]):
        yield batch
        last = batch[-1].pk


def _written_by_rules(apps):
    QueryMessage = apps.get_model("quality", "QueryMessage")
    rows = QueryMessage.objects.filter(query__origin="rule", author__isnull=True)
    return QueryMessage, rows


def add_codes(apps, schema_editor):
    QueryMessage, rows = _written_by_rules(apps)
    rows = rows.filter(kind__in=("raise", "close")).select_related("query")
    for batch in _in_batches(rows):
        changed = []
        for message in batch:
            detail = message.detail or {}
            if detail.get("message_code"):
                continue
            if message.kind == "raise":
                code = f"rule.{message.query.rule_code}"
            elif message.text == RULE_CLOSED_TEXT:
                code = "rule_closed"
            else:
                continue
            message.detail = {**detail, "message_code": code}
            changed.append(message)
        QueryMessage.objects.bulk_update(changed, ["detail"])


def remove_codes(apps, schema_editor):
    QueryMessage, rows = _written_by_rules(apps)
    for batch in _in_batches(rows):
        changed = []
        for message in batch:
            detail = dict(message.detail or {})
            if detail.pop("message_code", None) is not None:
                message.detail = detail
                changed.append(message)
        QueryMessage.objects.bulk_update(changed, ["detail"])


class Migration(migrations.Migration):
    dependencies = [("quality", "0004_notifications")]

    operations = [migrations.RunPython(add_codes, remove_codes)]
