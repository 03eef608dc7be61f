"""The login log in the admin: administrators read it; nobody writes or deletes an entry."""

from django.contrib import admin

from core import permissions
from core.security.models import LoginEvent


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "username", "user", "client", "detail")
    list_filter = ("kind",)
    search_fields = ("username", "client")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def has_module_permission(self, request) -> bool:
        return permissions.can_manage_accounts(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.can_manage_accounts(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
