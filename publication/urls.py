app_name = "publication"

# The Publication page and the data-cut pages (issue 12).
urlpatterns: list = []
