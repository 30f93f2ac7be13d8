"""Preview and test send: the parts of a page that answer a form without leaving it.

A form posted with fetch (X-Requested-With: fetch, see app.js) gets back just its panel, so the rest of the
page (a half-edited gateway form) stays as it is; without JavaScript the whole page comes back.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.render import RenderError, render_request
from smsgate.outbox.deliver import message_context
from smsgate.outbox.enqueue import InvalidMessage, NewMessage, build_message
from smsgate.outbox.models import Message
from smsgate.outbox.testsend import DEFAULT_TEXT, TakenByWorker, send_test
from smsgate.web.forms import MessageForm


def wants_panel(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def respond(request: HttpRequest, panel: str, page: str, context: dict) -> HttpResponse:
    return render(request, panel if wants_panel(request) else page, context)


def test_send(form: MessageForm, gateway: str | None) -> dict:
    """Send one SMS now; what the panel shows. Bad input becomes errors on `form`."""
    if not form.is_valid():
        return {}
    data = form.cleaned_data
    try:
        message, result = send_test(data["phone"], data["text"] or DEFAULT_TEXT, gateway)
    except InvalidMessage as e:
        form.add_message_error(e)
        return {}
    except TakenByWorker as e:
        return {"taken": str(e)}
    return {"test_message": message, "result": result}


def preview(form: MessageForm, gateway: Gateway) -> dict:
    """The request this gateway would get for this phone and text, secrets masked; nothing is sent."""
    if not form.is_valid():
        return {}
    data = form.cleaned_data
    try:
        message = build_message(
            NewMessage(to=data["phone"], text=data["text"] or DEFAULT_TEXT, gateway=gateway.name),
            SiteSettings.load().default_region,
        )
    except InvalidMessage as e:
        form.add_message_error(e)
        return {}
    # {{ message_id }} shows the id this SMS would get if it were queued now.
    message.pk = (Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    try:
        return {"preview": render_request(gateway, message_context(message), masked=True)}
    except RenderError as e:
        return {"preview_error": str(e)}
