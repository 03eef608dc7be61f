"""The dashboard's figures as files: drawn on the first request of each, kept on disk, served
by URL with an ETag (issue 16: the page was 1 MiB of inline SVG).

A figure is named by the run that computed the bundle (a bundle never changes), the language
it is drawn in, its name in the bundle (``km-os``, ``subgroup-ltr-os``, ``forest``), this
module's ``FIGURE_VERSION`` and a digest of the language's translation catalogue, so a new
run, another language, new drawing code or new translations each give another file and ETag,
and nothing needs invalidating. The files are a cache: deleting them costs one drawing each.
Nothing here decides who may see a figure: the view reaches the run through
``analytics.selectors.run_done_visible_to`` first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import trans_real

from analytics import presenters
from analytics.models import AnalysisRun

# 6: figures became files served by URL (were inline SVG in the page, version 5).
FIGURE_VERSION = 6
# Runs whose figures stay on disk: the dashboard shows the newest; a page left open on an
# older run draws its figures again if they were pruned.
KEEP_RUNS = 5


@dataclass(frozen=True)
class FigureFile:
    path: Path
    etag: str  # quoted, as in the ETag header


def language_supported(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


@functools.cache
def catalogue_digest(language: str) -> str:
    """A digest of the translations a process holds for ``language``: new wording (a new
    compiled catalogue, loaded at the next start) gives figures a new file and ETag.
    Django keeps one catalogue per language and process, so once per process is enough."""
    catalogue = trans_real.translation(language)._catalog
    digest = hashlib.sha256()
    for msgid, text in sorted((repr(k), repr(v)) for k, v in catalogue.items()):
        digest.update(f"{msgid}\x1f{text}\x1e".encode())
    return digest.hexdigest()[:16]


def figure_file(run: AnalysisRun, language: str, name: str) -> FigureFile:
    """Where the figure ``name`` of ``run``'s own bundle in ``language`` is (or will be) kept,
    and its ETag. Cheap: no drawing and no read of the bundle, so a conditional request is
    answered without either."""
    key = "|".join(
        [
            str(run.pk),
            run.dataset_sha256,
            str(FIGURE_VERSION),
            language,
            catalogue_digest(language),
            name,
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    folder = Path(settings.ANALYTICS_FIGURE_ROOT) / f"run-{run.pk}" / language
    return FigureFile(path=folder / f"{slugify(name)[:60]}-{digest}.svg", etag=f'"{digest}"')


def figure_ensure(run: AnalysisRun, language: str, name: str) -> FigureFile | None:
    """The figure's file, drawn now if it is not on disk (the bundle is read then only);
    None when the bundle has no figure of that name."""
    target = figure_file(run, language, name)
    if target.path.exists():
        return target
    bundle = AnalysisRun.objects.filter(pk=run.pk).values_list("bundle", flat=True).first()
    with translation.override(language):
        svg = presenters.draw_figure(bundle or {}, name)
    if svg is None:
        return None
    new_folder = not target.path.parent.parent.exists()
    target.path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a reader never sees half a file, and two processes drawing
    # the same figure at once both write the same bytes.
    handle, temporary = tempfile.mkstemp(dir=target.path.parent, suffix=".part")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(svg)
    os.replace(temporary, target.path)
    if new_folder:
        figures_prune(keep=KEEP_RUNS)
    return target


def figures_prune(*, keep: int) -> list[int]:
    """Delete the figure files of all but the ``keep`` newest runs; returns the runs pruned."""
    root = Path(settings.ANALYTICS_FIGURE_ROOT)
    if not root.is_dir():
        return []
    runs = sorted(
        (int(entry.name.removeprefix("run-")), entry)
        for entry in root.iterdir()
        if entry.is_dir() and entry.name.startswith("run-") and entry.name[4:].isdigit()
    )
    pruned = []
    for run_id, folder in runs[: max(len(runs) - keep, 0)]:
        shutil.rmtree(folder, ignore_errors=True)
        pruned.append(run_id)
    return pruned
