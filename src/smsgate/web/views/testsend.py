"""Test send for everyone who may send (operators too): one SMS now, the whole exchange shown."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from smsgate.web.forms import SendTestForm
from smsgate.web.views import panels


@login_required
@never_cache
def test_send(request: HttpRequest) -> HttpResponse:
    form = SendTestForm(request.POST if request.method == "POST" else None)
    context = {"test_form": form}
    if request.method == "POST":
        gateway = form.cleaned_data.get("gateway") if form.is_valid() else None
        context.update(panels.test_send(form, gateway or None))
    return panels.respond(request, "web/_test_panel.html", "web/test_send.html", context)
