from django.urls import path

from publication.views import cuts, pack

app_name = "publication"

# The Publication page and the data-cut pages (issue 12).
urlpatterns: list = [
    path("pack/", pack.publication_page, name="pack"),
    path("pack/download.zip", pack.publication_zip, name="pack_zip"),
    path("pack/files/<path:name>", pack.publication_file, name="pack_file"),
    path("cuts/", cuts.cut_list, name="cut_list"),
    path("cuts/compare/", cuts.cut_compare, name="cut_compare"),
    path("cuts/<int:cut_id>/", cuts.cut_detail, name="cut_detail"),
    path("cuts/<int:cut_id>/bundle.json", cuts.cut_bundle, name="cut_bundle"),
    path(
        "cuts/<int:cut_id>/patients.csv",
        cuts.cut_table,
        {"table": "patients"},
        name="cut_patients_csv",
    ),
    path(
        "cuts/<int:cut_id>/adverse-events.csv",
        cuts.cut_table,
        {"table": "adverse-events"},
        name="cut_adverse_events_csv",
    ),
    path("cuts/<int:cut_id>/kit.zip", cuts.cut_kit, name="cut_kit"),
    path("cuts/<int:cut_id>/pack/", pack.publication_page, name="cut_pack"),
    path("cuts/<int:cut_id>/pack/download.zip", pack.publication_zip, name="cut_pack_zip"),
    path("cuts/<int:cut_id>/pack/files/<path:name>", pack.publication_file, name="cut_pack_file"),
]
