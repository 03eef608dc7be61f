import pytest


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.IMPORT_ROOT = tmp_path / "imports"
    settings.EXPORT_ROOT = tmp_path / "exports"
