"""Thin pages: upload → preview (problems and changes, paged; progress while it runs) →
confirm; the template download. Every job is its owner's (others: 404)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import permissions
from core.errors import ApplicationError
from exchange.imports import services
from exchange.imports.forms import ImportForm, TemplateForm
from exchange.imports.template import write_template
from exchange.models import ImportJob
from registry.selectors import patients_visible_to

RUNNING = {
    ImportJob.Status.PENDING,
    ImportJob.Status.PREVIEWING,
    ImportJob.Status.COMMIT_QUEUED,
    ImportJob.Status.COMMITTING,
}
PAGE_SIZE = 50


def _require_importer(user) -> None:
    if not permissions.can_edit_crf(user):
        raise PermissionDenied(_("Your role may read but not import CRF data."))


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    _require_importer(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            job = services.import_request(
                user=request.user,
                file=upload,
                file_name=upload.name,
                file_format=data["file_format"] or None,
                center=data.get("center") or None,
                skip_invalid_patients=data["skip_invalid_patients"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("imports:detail", job_id=job.pk)
    jobs = ImportJob.objects.filter(created_by=request.user).select_related("center")[:50]
    return render(
        request,
        "exchange/import_list.html",
        {"form": form, "template_form": TemplateForm(user=request.user), "jobs": jobs},
        status=400 if form.errors else 200,
    )


def _own(request, job_id: int) -> ImportJob:
    try:
        return services.import_get(user=request.user, job_id=job_id)
    except ApplicationError:
        raise Http404(_("No such import.")) from None


@login_required
def import_detail(request, job_id: int):
    job = _own(request, job_id)
    problems = Paginator(job.problems, PAGE_SIZE).get_page(request.GET.get("page"))
    changes = Paginator(job.changes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "exchange/import_detail.html",
        {
            "job": job,
            "problems": problems,
            "changes": changes,
            "running": job.status in RUNNING,
            "truncated_problems": job.counts.get("errors", 0) + job.counts.get("warnings", 0)
            > len(job.problems),
        },
    )


@login_required
@require_POST
def import_commit(request, job_id: int):
    _own(request, job_id)
    try:
        services.import_commit_request(user=request.user, job_id=job_id)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Import confirmed: it is being written."))
    return redirect("imports:detail", job_id=job_id)


@login_required
def import_template(request):
    """The XLSX template, empty or pre-filled with one centre's current data (scoped)."""
    _require_importer(request.user)
    form = TemplateForm(request.GET or None, user=request.user)
    patients = None
    name = "registry-import-template.xlsx"
    if form.is_valid() and form.cleaned_data["center"]:
        code = form.cleaned_data["center"]
        if not permissions.sees_identifiers_in_lists(request.user):
            # The template carries identifiers (MRN, initials, date of birth).
            raise PermissionDenied(
                _(
                    "Only site staff and administrators may download a pre-filled template "
                    "(it holds identifiers)."
                )
            )
        patients = patients_visible_to(request.user).filter(center__code=code)
        name = f"registry-import-{code}.xlsx"
    elif request.GET and not form.is_valid():
        raise Http404(_("No such centre."))
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    write_template(Path(handle.name), patients)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
