"""Template context every page shares: the study's names, from the settings (not a file name)."""

from django.conf import settings


def study(request) -> dict:
    return {"study_title": settings.STUDY_TITLE, "study_short_title": settings.STUDY_SHORT_TITLE}
