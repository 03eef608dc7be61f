"""Named data cuts: the list with the freeze form, one cut, its downloads, two compared.

Thin: ``publication.selectors`` read (only the dashboard's readers see any cut),
``publication.services`` write and audit. Site staff get 404, as on the dashboard's pages.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from analytics import labels
from core import permissions
from core.errors import ApplicationError
from publication import kit, selectors, services
from publication.forms import CutCompareForm, CutFreezeForm
from publication.models import DataCut


def _require_cut_reader(request: HttpRequest) -> None:
    # Site staff get 404, as for any study-wide page: nothing to probe.
    if not permissions.can_use_data_cuts(request.user):
        raise Http404("No such page.")


def _cut_or_404(request: HttpRequest, cut_id: int) -> DataCut:
    _require_cut_reader(request)
    cut = selectors.cut_get(request.user, cut_id)
    if cut is None:
        raise Http404("No such data cut.")
    return cut


@login_required
@require_http_methods(["GET", "POST"])
def cut_list(request: HttpRequest) -> HttpResponse:
    _require_cut_reader(request)
    form = CutFreezeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cut = services.cut_freeze(
                user=request.user, name=form.cleaned_data["name"], note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            for field, problems in error.fields.items():
                target = field if field in form.fields else None
                for problem in problems:
                    form.add_error(target, problem)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            messages.info(request, _("Data cut “%(name)s” frozen.") % {"name": cut.name})
            return redirect("publication:cut_detail", cut_id=cut.pk)
    cuts = selectors.cut_list(request.user)
    return render(
        request,
        "publication/cut_list.html",
        {"cuts": cuts, "form": form, "compare_form": CutCompareForm(cuts=cuts)},
    )


def _clipped(ci: list | None) -> tuple[list, bool]:
    """A median's CI for display: never below 0 (contract §7: the "spss" interval can reach
    below 0; the bundle keeps the raw value, the page clips it and says so)."""
    lower, upper = (ci or [None, None])[:2]
    if lower is not None and lower < 0:
        return [0.0, upper], True
    return [lower, upper], False


def _summary(bundle: dict) -> dict:
    km = []
    any_clipped = False
    for name, entry in (bundle.get("km") or {}).items():
        ci, clipped = _clipped(entry.get("ci"))
        any_clipped = any_clipped or clipped
        km.append(
            {
                "label": labels.plan_phrase(entry.get("label", name)),
                "n": entry.get("n"),
                "events": entry.get("events"),
                "median": entry.get("median"),
                "ci": ci,
                "clipped": clipped,
                "method": entry.get("ci_method", ""),
            }
        )
    multi = (bundle.get("cox") or {}).get("multivariable") or {}
    return {"km": km, "clipped": any_clipped, "multi": multi}


@login_required
@require_GET
def cut_detail(request: HttpRequest, cut_id: int) -> HttpResponse:
    cut = _cut_or_404(request, cut_id)
    return render(
        request,
        "publication/cut_detail.html",
        {"cut": cut, "summary": _summary(cut.bundle), "warnings": cut.bundle.get("warnings", [])},
    )


def _download(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def cut_bundle(request: HttpRequest, cut_id: int) -> HttpResponse:
    cut = _cut_or_404(request, cut_id)
    services.cut_download_audit(user=request.user, cut=cut, what="bundle.json")
    body = json.dumps(cut.bundle, indent=1, ensure_ascii=False)
    return _download(body, "application/json", f"data-cut-{cut.pk}-bundle.json")


@login_required
@require_GET
def cut_table(request: HttpRequest, cut_id: int, table: str) -> HttpResponse:
    """The de-identified analysis tables, as in the reproduction kit."""
    cut = _cut_or_404(request, cut_id)
    name = {"patients": "data/patients.csv", "adverse-events": "data/adverse_events.csv"}[table]
    services.cut_download_audit(user=request.user, cut=cut, what=name)
    return _download(kit.kit_files(cut)[name], "text/csv", f"data-cut-{cut.pk}-{table}.csv")


@login_required
@require_GET
def cut_kit(request: HttpRequest, cut_id: int) -> HttpResponse:
    cut = _cut_or_404(request, cut_id)
    services.cut_download_audit(user=request.user, cut=cut, what="kit.zip")
    return _download(kit.kit_zip(cut), "application/zip", f"data-cut-{cut.pk}-kit.zip")


@login_required
@require_GET
def cut_compare(request: HttpRequest) -> HttpResponse:
    _require_cut_reader(request)
    cuts = selectors.cut_list(request.user)
    form = CutCompareForm(request.GET or None, cuts=cuts)
    diff = None
    if form.is_valid():
        a = selectors.cut_get(request.user, form.cleaned_data["a"].pk)
        b = selectors.cut_get(request.user, form.cleaned_data["b"].pk)
        diff = services.cut_compare(a, b)
    return render(request, "publication/cut_compare.html", {"form": form, "diff": diff})
