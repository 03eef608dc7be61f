"""Fonts for figures drawn in the reader's language.

DejaVu Sans (matplotlib's own) has Latin, Greek and the signs the figures use (≥, χ², →) but
no Chinese. Matplotlib 3.6+ falls back glyph by glyph along ``font.family``, so every figure
names DejaVu Sans (or the journal preset's sans-serif) first and Noto Sans CJK (Debian's
fonts-noto-cjk, docs/translation.md) second: Latin text keeps its look, Chinese text gets
real glyphs instead of empty boxes.

Matplotlib reads only the first face of a .ttc collection, so Debian's NotoSansCJK-*.ttc is
known to it as "Noto Sans CJK JP"; that face maps every Simplified Chinese character too.
Without any CJK font a Chinese figure would be boxes, so ``figure_language`` then draws it
in English instead (and logs why).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from django.utils import translation
from matplotlib import font_manager

logger = logging.getLogger(__name__)

# Preferred first: the Simplified Chinese face when a font package registers it by name.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Noto Sans CJK HK",
)
# The languages whose figures need the CJK font (LANGUAGES codes).
CJK_LANGUAGES = frozenset({"zh-hans"})
FALLBACK_LANGUAGE = "en-gb"


def _known_families() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


@cache
def cjk_family() -> str | None:
    """The CJK family matplotlib can draw with, or None when no CJK font is installed.

    Matplotlib caches its font list on first use; a font package installed after that
    (CI installs fonts-noto-cjk on a machine that may have run matplotlib before) is not in
    the cache, so the system's font files are searched once more before giving up.
    """
    known = _known_families()
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        name = Path(path).name
        if name.startswith(("NotoSansCJK", "NotoSansSC", "SourceHanSans")):
            font_manager.fontManager.addfont(path)
    known = _known_families()
    return next((family for family in CJK_FAMILIES if family in known), None)


def family_with_fallback(*first: str) -> list[str]:
    """``first`` then the CJK family (when installed): a ``font.family`` value."""
    family = cjk_family()
    return [*first, family] if family else list(first)


def can_draw(language: str | None = None) -> bool:
    """Whether figures can be drawn in ``language`` (the active one by default)."""
    language = language or translation.get_language() or FALLBACK_LANGUAGE
    return language not in CJK_LANGUAGES or cjk_family() is not None


@contextlib.contextmanager
def figure_language() -> Iterator[str]:
    """Draw in the active language if its glyphs exist, else in English (no empty boxes).

    Yields the language the figures are drawn in, for the caller's cache key.
    """
    language = translation.get_language() or FALLBACK_LANGUAGE
    if can_draw(language):
        yield language
        return
    logger.warning(
        "figures drawn in English instead of %s: no CJK font (install fonts-noto-cjk)", language
    )
    with translation.override(FALLBACK_LANGUAGE):
        yield FALLBACK_LANGUAGE
