"""Template context every page shares: the study's names, from the settings (not a file name),
in the language of the page."""

from django.conf import settings
from django.utils import translation


def study_titles() -> dict[str, str]:
    """The study's title and short title in the active language.

    A language other than English reads ``STUDY_TITLE_<LANGUAGE>`` (``STUDY_TITLE_ZH_HANS``
    for zh-hans); unset or empty, the English title stands.
    """
    suffix = (translation.get_language() or settings.LANGUAGE_CODE).upper().replace("-", "_")
    title = getattr(settings, f"STUDY_TITLE_{suffix}", "") or settings.STUDY_TITLE
    short = getattr(settings, f"STUDY_SHORT_TITLE_{suffix}", "") or settings.STUDY_SHORT_TITLE
    return {"study_title": title, "study_short_title": short}


def study(request) -> dict:
    return study_titles()
