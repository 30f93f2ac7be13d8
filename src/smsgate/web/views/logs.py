"""Logs → SMS: the history, one message with its attempts, resend, cancel, CSV export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from smsgate.outbox.enqueue import InvalidMessage
from smsgate.outbox.models import Message
from smsgate.web import actions, history
from smsgate.web.export import csv_lines
from smsgate.web.forms import HistoryFilterForm

_PAGING = ("before", "after")


@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    filters = _query_without(request, _PAGING)
    context = {"form": form, "filters": filters, "page": None}
    if form.is_valid():
        found = history.filtered(form.cleaned_data)
        context["page"] = history.page(found, _int(request.GET.get("before")), _int(request.GET.get("after")))
    return render(request, "web/history.html", context)


@login_required
def message_export(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return message_list(request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_lines(history.filtered(form.cleaned_data)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="sms-{stamp}.csv"'
    return response


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("gateway", "resent_from"), pk=pk)
    context = {
        "message": message,
        "attempts": list(message.attempts.all()),
        "resends": list(message.resends.order_by("pk").values_list("pk", flat=True)),
        "can_resend": message.status in actions.RESENDABLE,
        "can_cancel": message.status == Message.Status.QUEUED,
    }
    return render(request, "web/message.html", context)


@login_required
@require_POST
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("gateway"), pk=pk)
    try:
        new = actions.resend(message)
    except (actions.NotAllowed, InvalidMessage) as e:
        messages.error(request, str(e))
        return redirect("web:message", pk=pk)
    messages.success(request, f"Queued again as SMS {new.pk}.")
    return redirect("web:message", pk=new.pk)


@login_required
@require_POST
def message_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk)
    try:
        actions.cancel(message, request.user.get_username())
    except actions.NotAllowed as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"SMS {pk} is cancelled.")
    return redirect("web:message", pk=pk)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _query_without(request: HttpRequest, names: tuple[str, ...]) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
