"""The Publication page: previews of the manuscript pack of the latest final (else latest
complete) analysis run, or of a named data cut, each file on its own, and "Download all" as
one ZIP.

Thin: analytics.selectors finds the run and reads its inputs (a cut's come from what it
froze, publication.services), analytics.manuscript renders. Study-wide roles only, as the
dashboard: site staff get 404 (nothing to probe).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from analytics import fonts, selectors
from analytics.manuscript import manuscript_files, zip_files
from analytics.manuscript.methods import methods_paragraph
from analytics.manuscript.tables import all_tables
from core import permissions
from core.errors import ApplicationError
from publication import selectors as cut_selectors
from publication import services as cut_services

# 2: one pack per language (the reader's: headings, labels and the methods text).
PACK_CACHE_VERSION = 2
CONTENT_TYPES = {
    ".svg": "image/svg+xml",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def _require_reader(request: HttpRequest) -> None:
    if not permissions.can_see_dashboard(request.user):
        raise Http404("No such page.")


@dataclass
class _Source:
    """What a pack is drawn from: the latest final/complete run, or a named data cut."""

    run: object | None
    cut: object | None
    bundle: dict
    cache_key: str
    inputs: Callable[[], dict]
    zip_name: str

    def file_url_prefix(self) -> str:
        # The file URL with an empty name: the template appends each file's name.
        if self.cut is not None:
            return reverse("publication:cut_pack_file", args=[self.cut.pk, "x"])[:-1]
        return reverse("publication:pack_file", args=["x"])[:-1]

    def zip_url(self) -> str:
        if self.cut is not None:
            return reverse("publication:cut_pack_zip", args=[self.cut.pk])
        return reverse("publication:pack_zip")


def _source(request: HttpRequest, cut_id: int | None) -> _Source | None:
    if cut_id is not None:
        cut = cut_selectors.cut_get(request.user, cut_id)
        if cut is None:
            raise Http404("No such data cut.")
        return _Source(
            run=None,
            cut=cut,
            bundle=cut.bundle,
            cache_key=f"publication:pack:cut:{cut.pk}:{cut.dataset_sha256}",
            inputs=lambda: cut_services.cut_manuscript_inputs(cut),
            zip_name=f"manuscript-pack-cut-{cut.pk}.zip",
        )
    run = selectors.run_for_publication()
    if run is None or not run.result:
        return None
    return _Source(
        run=run,
        cut=None,
        bundle=run.result,
        cache_key=f"publication:pack:{run.pk}:{run.dataset_sha256}",
        inputs=lambda: selectors.manuscript_inputs(run),
        zip_name=f"manuscript-pack-run-{run.pk}.zip",
    )


def _files(source: _Source) -> dict[str, bytes]:
    """The pack's files in the reader's language, rendered once per language and cached (a
    bundle and a cut never change)."""
    with fonts.figure_language() as language:
        key = f"{source.cache_key}:files:{language}:v{PACK_CACHE_VERSION}"
        files = cache.get(key)
        if files is None:
            inputs = source.inputs()
            files = manuscript_files(inputs.pop("bundle"), inputs.pop("tables"), **inputs)
            cache.set(key, files, timeout=60 * 60 * 24)
        return files


def _source_or_404(request: HttpRequest, cut_id: int | None) -> _Source:
    source = _source(request, cut_id)
    if source is None:
        raise Http404("No finished analysis run yet.")
    return source


@login_required
@require_GET
def publication_page(request: HttpRequest, cut_id: int | None = None) -> HttpResponse:
    _require_reader(request)
    source = _source(request, cut_id)
    context: dict = {
        "run": source.run if source else None,
        "cut": source.cut if source else None,
        "source": source,
        "error": None,
        "cuts": cut_selectors.cut_list(request.user)[:10],
    }
    if source is not None:
        try:
            names = sorted(_files(source))
        except ApplicationError as error:
            context["error"] = error.message
            names = []
        context.update(
            figures=[n for n in names if n.startswith("figures/") and n.endswith(".svg")],
            downloads=names,
            tables=all_tables(source.bundle),
            methods=methods_paragraph(source.bundle),
            file_prefix=source.file_url_prefix(),
            zip_url=source.zip_url(),
        )
    return render(request, "publication/pack.html", context)


@login_required
@require_GET
def publication_file(request: HttpRequest, name: str, cut_id: int | None = None) -> HttpResponse:
    _require_reader(request)
    source = _source_or_404(request, cut_id)
    try:
        files = _files(source)
    except ApplicationError as error:
        return HttpResponse(error.message, status=409, content_type="text/plain; charset=utf-8")
    if name not in files:
        raise Http404("No such file in the pack.")
    suffix = name[name.rfind(".") :]
    content_type = (
        CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    response = HttpResponse(files[name], content_type=content_type)
    if suffix != ".svg" or request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{name.rsplit("/", 1)[-1]}"'
    return response


@login_required
@require_GET
def publication_zip(request: HttpRequest, cut_id: int | None = None) -> HttpResponse:
    _require_reader(request)
    source = _source_or_404(request, cut_id)
    try:
        data = zip_files(_files(source))
    except ApplicationError as error:
        return HttpResponse(error.message, status=409, content_type="text/plain; charset=utf-8")
    if source.cut is not None:
        cut_services.cut_download_audit(user=request.user, cut=source.cut, what="pack")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{source.zip_name}"'
    return response
