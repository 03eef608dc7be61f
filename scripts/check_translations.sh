#!/usr/bin/env bash
# The translation check (docs/translation.md): extract every translatable string of the code
# as it is now (makemessages, on a copy so the working tree is left alone), then fail on any
# message the Chinese catalogue leaves untranslated or fuzzy (msgfmt --statistics), and on a
# committed django.mo that is not the compilation of the committed django.po.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
catalogue="locale/zh_Hans/LC_MESSAGES"
if ! command -v msgfmt >/dev/null; then
  if [ "${REQUIRE_SERVICES:-0}" = "1" ]; then
    echo "translation check: gettext (msgfmt) is not installed" >&2
    exit 1
  fi
  echo "translation check skipped: gettext (msgfmt) is not installed"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -C "$root" --exclude=./.venv --exclude=./.git --exclude=./var --exclude='__pycache__' -cf - . \
  | tar -C "$work" -xf -
(cd "$work" && DEBUG=1 "$root/.venv/bin/python" manage.py makemessages --locale zh_Hans \
  --extension html,txt,py --no-obsolete --ignore '.venv/*' --ignore 'tests/*' \
  --ignore 'benchmarks/*' --ignore 'var/*' --ignore 'docs/*' >/dev/null)
statistics="$(msgfmt --check --statistics -o "$work/fresh.mo" "$work/$catalogue/django.po" 2>&1)"
echo "translation check (zh-hans): $statistics"
if grep -Eq "untranslated|fuzzy" <<<"$statistics"; then
  echo "translation check: translate every message of $catalogue/django.po" >&2
  echo "(run the makemessages line of docs/translation.md, fill in msgstr, drop fuzzy marks)" >&2
  msgattrib --untranslated --only-fuzzy "$work/$catalogue/django.po" 2>/dev/null | head -40 >&2 || true
  msgattrib --untranslated "$work/$catalogue/django.po" | grep '^msgid' | head -40 >&2 || true
  exit 1
fi
msgfmt -o "$work/committed.mo" "$root/$catalogue/django.po"
if ! cmp -s <(msgunfmt "$work/committed.mo") <(msgunfmt "$root/$catalogue/django.mo"); then
  echo "translation check: $catalogue/django.mo is stale: run manage.py compilemessages" >&2
  exit 1
fi
