"""The study roles. Which role may do what is decided in ``core.permissions`` only."""

from django.db import models


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Site coordinator"
    INVESTIGATOR = "investigator", "Site investigator"
    DATA_MANAGER = "data_manager", "Data manager / monitor"
    PI = "pi", "Study PI"
    ADMIN = "admin", "Administrator"


# Roles bound to one centre; every other role is study-wide.
SITE_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
