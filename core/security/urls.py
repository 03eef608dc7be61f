from django.urls import path

from core.security import views

urlpatterns = [
    path("two-factor/", views.two_factor, name="two-factor"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
]
