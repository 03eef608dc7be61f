"""De-identification primitives: pseudonyms, date shifts, age top-coding, risk (k).

All keyed transforms are HMAC-SHA256, so they are stable for a key and cannot be
inverted or joined across keys without it. Keys stay server-side (settings or
``PseudonymKey`` rows) and are never written into an export.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from datetime import date, timedelta

from django.conf import settings

AGE_TOP_CODE = 90  # HIPAA Safe Harbor: ages over 89 are aggregated into "90 or older"
AGE_TOP_LABEL = "90+"
K_WARNING_BELOW = 5
SHIFT_MIN_DAYS, SHIFT_MAX_DAYS = 1, 364


def _hmac(key: bytes, message: str) -> bytes:
    # The one-shot C digest: the same bytes as hmac.new(...).digest() without building an
    # HMAC object, and it runs twice per exported patient (pseudonym, date shift).
    return hmac.digest(key, message.encode("utf-8"), hashlib.sha256)


def pseudonym(key: bytes, study_id: str) -> str:
    """'S' + 13 base32 characters (65 bits) of HMAC(key, study id): collisions are negligible."""
    # Base32 turns each 5 bytes into 8 characters on their own, so the first 10 bytes give
    # the first 16 characters of the whole digest's encoding (pure Python, once a patient).
    digest = base64.b32encode(_hmac(key, "study-id:" + study_id)[:10]).decode("ascii")
    return "S" + digest[:13]


def date_shift_key() -> bytes:
    """The export secret of its own (settings.EXPORT_PSEUDONYM_KEY), never SECRET_KEY: rotating
    the session key must not move a patient's shifted dates between two exports."""
    return settings.EXPORT_PSEUDONYM_KEY.encode("utf-8")


def shift_days(study_id: str, key: bytes | None = None) -> int:
    """The patient's fixed offset, 1–364 days, from HMAC(date-shift key, study id)."""
    digest = _hmac(key or date_shift_key(), "date-shift:" + study_id)
    span = SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1
    return SHIFT_MIN_DAYS + int.from_bytes(digest[:8], "big") % span


def shifted(value: date | None, offset_days: int) -> date | None:
    """Dates move back by the offset, so intervals within one patient are unchanged."""
    return None if value is None else value - timedelta(days=offset_days)


def relative_day(value: date | None, index: date | None) -> int | None:
    """Days from the 2L start (day 0); blank when either date is missing."""
    if value is None or index is None:
        return None
    return (value - index).days


def top_coded_age(age: int | float | None) -> int | float | None:
    if age is None:
        return None
    return AGE_TOP_CODE if age >= AGE_TOP_CODE else age


def age_label(age: int | float | None) -> str:
    if age is None:
        return ""
    return AGE_TOP_LABEL if age >= AGE_TOP_CODE else str(int(age))


def age_band(age: int | float | None) -> str:
    """Ten-year bands, the granularity the risk summary assumes an attacker knows."""
    if age is None:
        return "unknown"
    if age >= AGE_TOP_CODE:
        return AGE_TOP_LABEL
    if age < 40:
        return "<40"
    low = int(age) // 10 * 10
    return f"{low}-{low + 9}"


def center_labels(codes: list[str], key: bytes) -> dict[str, str]:
    """Centre codes → 'centre A', 'centre B', … in a keyed order (not alphabetical by code)."""
    ordered = sorted(codes, key=lambda code: _hmac(key, "centre:" + code))
    return {code: f"centre {chr(ord('A') + i)}" for i, code in enumerate(ordered)}


def risk_summary(groups: Counter) -> dict:
    """Smallest group size k over (age band, sex, centre), and the groups below 5."""
    if not groups:
        return {"quasi_identifiers": ["age_band", "sex", "center"], "k": None, "warning": ""}
    k = min(groups.values())
    small = sorted(
        (
            {"age_band": a, "sex": s, "center": c, "n": n}
            for (a, s, c), n in groups.items()
            if n < K_WARNING_BELOW
        ),
        key=lambda g: (g["n"], g["center"], g["age_band"], g["sex"]),
    )
    warning = ""
    if k < K_WARNING_BELOW:
        warning = (
            f"Re-identification risk: the smallest group over (age band, sex, centre) has "
            f"{k} patient(s) (k < {K_WARNING_BELOW}); {len(small)} group(s) hold "
            f"{sum(g['n'] for g in small)} patient(s). Consider coarsening centres or "
            f"sharing under a data use agreement."
        )
    return {
        "quasi_identifiers": ["age_band", "sex", "center"],
        "k": k,
        "groups": len(groups),
        "small_groups": small,
        "warning": warning,
    }
