"""The dashboard: the state of sending at a glance, and a form to send an SMS."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from smsgate.gateways.models import SiteSettings
from smsgate.outbox.enqueue import InvalidMessage, NewMessage, enqueue
from smsgate.web import stats
from smsgate.web.forms import SendForm


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = SendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = enqueue(
                NewMessage(to=data["phone"], text=data["text"], gateway=data["gateway"] or None)
            )
        except InvalidMessage as e:
            form.add_message_error(e)
        else:
            link = reverse("web:message", args=[message.pk])
            messages.success(request, format_html('Queued <a href="{}">SMS {}</a> to {}.', link, message.pk,
                                                  message.phone))  # fmt: skip
            return redirect("web:dashboard")
    last_seen = stats.worker_last_seen()
    context = {
        "form": form,
        "counts": stats.live_counts(),
        "chart": stats.chart(stats.daily_outcomes()),
        "states": stats.gateway_states(),
        "sending_enabled": SiteSettings.load().sending_enabled,
        "worker_last_seen": last_seen,
        "worker_running": stats.worker_running(last_seen),
    }
    return render(request, "web/dashboard.html", context)


@login_required
@never_cache
def live(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls every few seconds."""
    return JsonResponse(stats.live_counts())
