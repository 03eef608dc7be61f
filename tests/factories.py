"""factory_boy factories. CRF data is built through the services (see tests.builders),
so tests exercise the same validation and audit as users do."""

import factory

from registry.models import Center, User

TEST_PASSWORD = "correct-horse-42"


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"C{chr(65 + n % 26)}{chr(65 + n // 26 % 26)}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "coordinator"
    center = factory.SubFactory(CenterFactory)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()
