"""Logging in and out, and changing one's own password: Django's views with our pages."""

from django.contrib import messages
from django.contrib.auth import views as auth
from django.urls import reverse_lazy


class LoginView(auth.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth.PasswordChangeView):
    template_name = "web/password.html"
    success_url = reverse_lazy("web:dashboard")

    def form_valid(self, form):
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)


LogoutView = auth.LogoutView
