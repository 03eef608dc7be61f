"""The PI dashboard and its small endpoints. Thin: selectors read, services write."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analytics import figure_files, labels, presenters, selectors, services
from analytics.forms import AnalysisPlanForm
from analytics.models import AnalysisRun
from core import permissions
from core.errors import ApplicationError, ErrorCode
from quality import selectors as quality_selectors


def _require_dashboard(request: HttpRequest) -> None:
    # Site staff get 404, as for any page outside their centre: nothing to probe.
    if not permissions.can_see_dashboard(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if not permissions.can_see_dashboard(request.user):
        return _center_page(request)
    run = selectors.run_latest_done()
    centers, data_quality = selectors.kept_for_data_version(
        "dashboard-counts",
        request.user,
        lambda: (
            selectors.enrolment_by_center(request.user),
            quality_selectors.locked_data_quality(request.user),
        ),
    )
    context: dict = {
        "centers": centers,
        "run": run,
        "active": selectors.run_active(),
        "last_run": selectors.run_last(),
        "history": selectors.runs_for_history(),
        "plan": services.plan_current(),
        "can_edit_plan": permissions.can_edit_plan(request.user),
        "data_quality": data_quality,
    }
    context["registered"] = sum(c.registered for c in context["centers"])
    context["locked"] = sum(c.locked for c in context["centers"])
    if run:
        shown = _bundle_context(run)
        if shown:
            context.update(shown)
            context["changes"] = selectors.changes_since_kept(run, selectors.run_previous_done(run))
    return render(request, "analytics/dashboard.html", context)


# Bumped when _bundle_context gives something else: a cache shared by web processes (Redis)
# outlives a deployment.
BUNDLE_CONTEXT_VERSION = 1
BUNDLE_CONTEXT_SECONDS = 7 * 24 * 3600


def _bundle_context(run: AnalysisRun) -> dict:
    """What the page shows of the run's bundle (empty: the run has none), worked out once per
    bundle and language: a bundle never changes, and reading and decoding it (1 MB of JSON
    at 100,000 patients, curves included) was a large part of every request."""
    source = run.reused_from or run
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = (
        f"analytics:dashboard-bundle:v{BUNDLE_CONTEXT_VERSION}:{source.pk}:{language}:"
        f"{figure_files.catalogue_digest(language)}"
    )
    shown = cache.get(key)
    if shown is None:
        bundle = selectors.run_bundle(source)
        shown = _bundle_shown(source, bundle) if bundle else {}
        cache.set(key, shown, timeout=BUNDLE_CONTEXT_SECONDS)
    return shown


def _bundle_shown(source: AnalysisRun, bundle: dict) -> dict:
    cox = bundle.get("cox") or {}
    multivariable = cox.get("multivariable") or {}
    return {
        # The few bundle values the template reads itself; not the curves.
        "bundle": {
            "n_patients": bundle.get("n_patients"),
            "warnings": bundle.get("warnings") or [],
            "plan": {"multivariable": (bundle.get("plan") or {}).get("multivariable") or {}},
            "cox": {
                "ties": cox.get("ties"),
                "multivariable": {
                    key: multivariable.get(key) for key in ("n", "events", "lr_test")
                },
            },
        },
        "figures": _figures(source, bundle),
        "cox_rows": presenters.cox_table(bundle.get("cox")),
        "hr_direction": presenters.hr_direction(bundle),
        "table1": presenters.table1_display(bundle),
        "ae_rows": presenters.ae_display(bundle),
        "km": [
            {
                "name": name,
                "label": labels.plan_phrase(entry.get("label", name)),
                "median": presenters.fmt_median(entry["median"]),
                "ci": presenters.fmt_median_ci(entry["ci"]),
                "events": entry["events"],
                "n": entry["n"],
            }
            for name, entry in (bundle.get("km") or {}).items()
        ],
        "followup": bundle.get("followup"),
        "ci_method": labels.ci_method_label((bundle.get("plan") or {}).get("km_ci")),
        "km_clipped": presenters.km_clipped(bundle),
        "cox_endpoint": labels.endpoint_label(bundle, cox.get("endpoint", "")),
    }


def _figures(source: AnalysisRun, bundle: dict) -> dict:
    """The bundle's figures for the page: their URLs (in the page's language) and alt text.
    The URL names the run that computed the bundle, so a run that reused it shares its files."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    out: dict = {"km": [], "subgroups": [], "forest": None}
    for spec in presenters.figure_specs(bundle):
        figure = {
            "name": spec.name,
            "endpoint": spec.endpoint,
            "key": spec.key,
            "label": spec.label,
            "alt": spec.alt,
            "url": reverse("analytics:run_figure", args=[source.pk, language, spec.name]),
        }
        if spec.kind == "forest":
            out["forest"] = figure
        else:
            out["km" if spec.kind == "km" else "subgroups"].append(figure)
    return out


def _center_page(request: HttpRequest) -> HttpResponse:
    centers = selectors.enrolment_by_center(request.user)
    return render(
        request,
        "analytics/center.html",
        {"centers": centers, "patients": selectors.center_completeness(request.user)},
    )


def _run_json(run: AnalysisRun | None) -> dict | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "status": run.status,
        "progress": run.progress,
        "step": _(run.step) if run.step else "",
        "trigger": run.get_trigger_display(),
        "error": run.error,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


@login_required
@require_GET
def run_status(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls: the active run (progress) and the latest finished run's id."""
    _require_dashboard(request)
    latest = selectors.run_latest_done()
    return JsonResponse(
        {
            "active": _run_json(selectors.run_active()),
            "last": _run_json(selectors.run_last()),
            "latest_done_id": latest.pk if latest else None,
        }
    )


@login_required
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    _require_dashboard(request)
    run = services.run_start_manual(user=request.user)
    if run is None:
        messages.error(request, _("There is no analysis plan yet: a PI must save one first."))
    else:
        messages.info(request, _("Analysis run #%(pk)d queued.") % {"pk": run.pk})
    return redirect("analytics:dashboard")


@login_required
@require_POST
def run_final(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_dashboard(request)
    try:
        run = services.run_mark_final(user=request.user, run_id=run_id)
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from None
        if error.code == ErrorCode.FORBIDDEN:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
    else:
        messages.info(request, _("Run #%(pk)d is final.") % {"pk": run.pk})
    return redirect("analytics:dashboard")


@login_required
def plan_edit(request: HttpRequest) -> HttpResponse:
    _require_dashboard(request)
    if not permissions.can_edit_plan(request.user):
        return render(request, "analytics/plan_forbidden.html", status=403)
    current = services.plan_current()
    if request.method == "POST":
        form = AnalysisPlanForm(request.POST)
        if form.is_valid():
            try:
                created = services.plan_create(
                    user=request.user,
                    plan=form.cleaned_data["plan"],
                    note=form.cleaned_data["note"],
                )
            except ApplicationError as exc:
                form.add_error("plan", exc.message)
            else:
                messages.info(
                    request,
                    _("Plan v%(version)d saved; a run is queued.") % {"version": created.version},
                )
                return redirect("analytics:dashboard")
    else:
        initial = json.dumps(current.plan, indent=2, ensure_ascii=False) if current else ""
        form = AnalysisPlanForm(initial={"plan": initial})
    context = {
        "form": form,
        "current": current,
        "km_ci_options": [(value, str(words)) for value, words in labels.CI_METHODS.items()],
    }
    return render(request, "analytics/plan_form.html", context)


def _done_run(request: HttpRequest, run_id: int) -> tuple[AnalysisRun, dict]:
    run = selectors.run_done_visible_to(request.user, run_id)
    if not run.result:
        raise Http404("This run has no results.")
    return run, run.result


# Revalidated on every use (a 304 costs a few milliseconds), so the reader's permission is
# checked each time; the URL changes with the run and language, never the bytes behind it.
FIGURE_CACHE_CONTROL = "private, no-cache"


@login_required
@require_GET
def run_figure(request: HttpRequest, run_id: int, language: str, name: str) -> HttpResponse:
    """One dashboard figure (SVG), drawn on its first request and then served from its file;
    a request whose If-None-Match holds the figure's ETag gets 304 without either."""
    run = selectors.run_done_visible_to(request.user, run_id, bundle=False)
    if not figure_files.language_supported(language):
        raise Http404("No such language.")
    source = run.reused_from or run
    target = figure_files.figure_file(source, language, name)
    response = get_conditional_response(request, etag=target.etag)
    if response is None:
        drawn = figure_files.figure_ensure(source, language, name)
        if drawn is None:
            raise Http404("No such figure.")
        response = FileResponse(drawn.path.open("rb"), content_type="image/svg+xml")
    response["ETag"] = target.etag
    response["Cache-Control"] = FIGURE_CACHE_CONTROL
    return response


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def run_bundle(request: HttpRequest, run_id: int) -> HttpResponse:
    run, bundle = _done_run(request, run_id)
    body = json.dumps(bundle, indent=1, ensure_ascii=False)
    return _download(body, "application/json", f"analysis-run-{run.pk}-bundle.json")


@login_required
@require_GET
def run_table1_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run, bundle = _done_run(request, run_id)
    return _download(presenters.table1_csv(bundle), "text/csv", f"analysis-run-{run.pk}-table1.csv")


@login_required
@require_GET
def run_ae_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run, bundle = _done_run(request, run_id)
    name = f"analysis-run-{run.pk}-adverse-events.csv"
    return _download(presenters.ae_csv(bundle), "text/csv", name)
