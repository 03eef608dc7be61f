"""Thin pages: list and request exports, download one's own finished export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, ErrorCode
from exchange import services
from exchange.forms import ExportForm
from exchange.models import ExportJob


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request):
    form = ExportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.export_request(
                user=request.user,
                centers=data["centers"] or None,
                locked_only=data["locked_only"],
                formats=["csv", *data["formats"]],
                identified=data.get("identified", False),
                reason=data.get("reason", ""),
                date_mode=data["date_mode"],
                recipient=data["recipient"],
                coarsen_centers=data["coarsen_centers"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Export {job.pk} queued.")
            return redirect("exports:list")
    jobs = ExportJob.objects.filter(created_by=request.user)[:50]
    status = 400 if form.errors else 200
    return render(
        request,
        "exchange/export_list.html",
        {"form": form, "jobs": jobs, "now": timezone.now()},
        status=status,
    )


@login_required
def export_download(request, job_id: int):
    try:
        job = services.export_download(user=request.user, job_id=job_id)
    except ApplicationError as error:
        if error.code == ErrorCode.EXPIRED:
            return HttpResponse(error.message, status=error.http_status, content_type="text/plain")
        raise Http404(error.message) from None
    return FileResponse(
        open(job.file_path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=job.file_name,
        content_type="application/zip",
    )
