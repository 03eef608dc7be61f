"""Everything a recipient could read out of an export ZIP, as text, member by member.

Raw bytes of every member except the XLSX (a compressed container: its deflated bytes are
noise in which a short token such as two initials turns up by chance; its decompressed parts
and cell values are scanned instead), plus the values and labels pyreadstat reads from each
.sav (raw .sav bytes can split strings).
"""

import io
import re
import zipfile
from datetime import date

from django.db import models

from registry.models import CRF_MODELS, Patient

ISO_DATE = re.compile(r"(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}(?!\d)")
SLASH_DATE = re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/(?:19|20)\d{2}(?!\d)")


def readable_texts(zf: zipfile.ZipFile, tmp_path) -> dict[str, str]:
    import openpyxl
    import pyreadstat

    texts = {}
    for name in zf.namelist():
        data = zf.read(name)
        parts = [] if name.endswith(".xlsx") else [data.decode("latin-1")]
        if name.endswith(".xlsx"):
            inner = zipfile.ZipFile(io.BytesIO(data))
            parts += [inner.read(n).decode("utf-8", "replace") for n in inner.namelist()]
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    parts.append("\t".join("" if v is None else str(v) for v in row))
        if name.endswith(".sav"):
            path = tmp_path / name.replace("/", "_")
            path.write_bytes(data)
            frame, meta = pyreadstat.read_sav(str(path))
            parts.append(frame.to_csv(index=False))
            parts.append(repr(meta.column_names_to_labels))
            parts.append(repr(meta.variable_value_labels))
        texts[name] = "\n".join(parts)
    return texts


def patient_dates(patients) -> set[date]:
    """Every calendar date stored for these patients, in any part of the casebook."""
    found: set[date] = set()
    ids = [p.pk for p in patients]
    for model in (Patient, *CRF_MODELS):
        names = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
        ]
        lookup = "pk__in" if model is Patient else "patient_id__in"
        for values in model.objects.filter(**{lookup: ids}).values_list(*names):
            found |= {v for v in values if v is not None}
    return found


def date_spellings(d: date) -> list[str]:
    return [
        d.isoformat(),
        d.strftime("%d/%m/%Y"),
        d.strftime("%m/%d/%Y"),
        d.strftime("%Y%m%d"),
        d.strftime("%d.%m.%Y"),
    ]
