from django.urls import path

from publication.views import pack

app_name = "publication"

# The Publication page and the data-cut pages (issue 12).
urlpatterns: list = [
    path("pack/", pack.publication_page, name="pack"),
    path("pack/download.zip", pack.publication_zip, name="pack_zip"),
    path("pack/files/<path:name>", pack.publication_file, name="pack_file"),
]
