"""API tokens for administrators: create (the token is shown once), list with last use, revoke."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from smsgate.api.models import Token
from smsgate.web.access import admin_required


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="Who uses it: billing, helpdesk, a script's name."
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=[
            ("send", "send: send SMS and read its own"),
            ("read", "read: read every SMS and the stats"),
            ("admin", "admin: also manage gateways and tokens"),
        ],
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("is required")
        return name


@admin_required
@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    shown = None
    if request.method == "POST" and form.is_valid():
        token, shown = Token.issue(form.cleaned_data["name"], form.cleaned_data["scope"])
        form = TokenForm()
    context = {"form": form, "tokens": Token.objects.all(), "shown": shown, "here": "tokens"}
    return render(request, "web/tokens.html", context)


@admin_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Token, pk=pk).revoke()
    return redirect("web:tokens")
