"""The study roles. Which role may do what is decided in ``core.permissions`` only."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Site investigator")
    DATA_MANAGER = "data_manager", _("Data manager / monitor")
    PI = "pi", _("Study PI")
    ADMIN = "admin", _("Administrator")


# Roles bound to one centre; every other role is study-wide.
SITE_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
