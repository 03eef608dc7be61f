"""The Publication page: previews of the manuscript pack of the latest final (else latest
complete) analysis run, each file on its own, and "Download all" as one ZIP.

Thin: analytics.selectors finds the run and reads its inputs, analytics.manuscript renders.
Study-wide roles only, as the dashboard: site staff get 404 (nothing to probe).
"""

from __future__ import annotations

import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics import selectors
from analytics.manuscript import manuscript_files, zip_files
from analytics.manuscript.methods import methods_paragraph
from analytics.manuscript.tables import all_tables
from core import permissions
from core.errors import ApplicationError

PACK_CACHE_VERSION = 1
PREVIEW_FIGURES = ("svg",)
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


def _cache_key(run, what: str) -> str:
    return f"publication:pack:{run.pk}:{run.dataset_sha256}:{what}:v{PACK_CACHE_VERSION}"


def _files(run) -> dict[str, bytes]:
    """The run's pack files, rendered once and cached (a bundle never changes)."""
    key = _cache_key(run, "files")
    files = cache.get(key)
    if files is None:
        inputs = selectors.manuscript_inputs(run)
        files = manuscript_files(inputs.pop("bundle"), inputs.pop("tables"), **inputs)
        cache.set(key, files, timeout=60 * 60 * 24)
    return files


def _run_or_404():
    run = selectors.run_for_publication()
    if run is None or not run.result:
        raise Http404("No finished analysis run yet.")
    return run


@login_required
@require_GET
def publication_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    run = selectors.run_for_publication()
    context: dict = {"run": run, "error": None}
    if run is not None and run.result:
        bundle = run.result
        try:
            names = sorted(_files(run))
        except ApplicationError as error:
            context["error"] = error.message
            names = []
        context.update(
            figures=[n for n in names if n.startswith("figures/") and n.endswith(".svg")],
            downloads=names,
            tables=all_tables(bundle),
            methods=methods_paragraph(bundle),
        )
    return render(request, "publication/pack.html", context)


@login_required
@require_GET
def publication_file(request: HttpRequest, name: str) -> HttpResponse:
    _require_reader(request)
    run = _run_or_404()
    try:
        files = _files(run)
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
def publication_zip(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    run = _run_or_404()
    try:
        data = zip_files(_files(run))
    except ApplicationError as error:
        return HttpResponse(error.message, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="manuscript-pack-run-{run.pk}.zip"'
    return response
