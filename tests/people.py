"""The named centres and people of the tests, one definition each.

Alpha Hospital (AAA) with Alice the coordinator and Ivan the investigator, Beta Hospital
(BBB) with Bob and Ines, and the study-wide Dora (data manager), Petra (PI) and Adam
(administrator). The fixtures of tests/conftest.py call these, and so does data built once
for a whole module (tests.module_data). The factories get or create by code and username,
so a fixture asked for Alice in a module whose shared data made her already returns that
row instead of a second Alice.
"""

from registry.models import Center, User
from tests.factories import CenterFactory, UserFactory


def center_a() -> Center:
    return CenterFactory(code="AAA", name="Alpha Hospital")


def center_b() -> Center:
    return CenterFactory(code="BBB", name="Beta Hospital")


def coordinator_a(center: Center) -> User:
    return UserFactory(username="alice", role="coordinator", center=center)


def coordinator_b(center: Center) -> User:
    return UserFactory(username="bob", role="coordinator", center=center)


def investigator_a(center: Center) -> User:
    return UserFactory(username="ivan", role="investigator", center=center)


def investigator_b(center: Center) -> User:
    return UserFactory(username="ines", role="investigator", center=center)


def data_manager() -> User:
    return UserFactory(username="dora", role="data_manager", center=None)


def pi_user() -> User:
    return UserFactory(username="petra", role="pi", center=None)


def admin_user() -> User:
    return UserFactory(username="adam", role="admin", center=None, is_staff=True, is_superuser=True)
