"""Text rules every input shares (pages, API, imports, tokens): no control characters.

Tab, line feed and carriage return are text (a note has lines); every other C0/C1 control
character, DEL, and a lone surrogate (which no database encoding can store) is refused:
PostgreSQL rejects NUL outright (a 500 before this rule), and spreadsheets choke on the rest.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def first_control_character(text: str) -> str | None:
    """'U+0000 at position 3' for the first refused character of ``text``, or None."""
    match = CONTROL_CHARACTERS.search(text)
    if match is None:
        return None
    return _("%(character)s at position %(position)d") % {
        "character": f"U+{ord(match.group()):04X}",
        "position": match.start() + 1,
    }


def reject_control_characters(value) -> None:
    """A model/form validator: free text without control characters."""
    if isinstance(value, str) and (where := first_control_character(value)):
        raise ValidationError(
            _("Control characters are not allowed in text (found %(where)s).") % {"where": where},
            code="control_characters",
        )
