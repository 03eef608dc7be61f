"""Django admin of the quality app: the study's settings, for administrators only.

Verifications and queries are written through their services (pages and API), never here.
"""

from __future__ import annotations

from django.contrib import admin

from quality.models import StudySettings
from registry.admin import AdministratorOnly


@admin.register(StudySettings)
class StudySettingsAdmin(AdministratorOnly, admin.ModelAdmin):
    list_display = ("__str__", "lock_requires_sdv")
    fields = ("critical_fields", "lock_requires_sdv")

    def has_add_permission(self, request) -> bool:
        # One row: once it exists it is changed, not added again.
        return super().has_add_permission(request) and not StudySettings.objects.exists()
