"""Config → SMS: the list of gateways with the global switches, and one page per gateway."""

import phonenumbers
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from smsgate.gateways.config import InvalidGateway, save_gateway
from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.gateways.presets import load_preset, preset_names
from smsgate.gateways.render import ALIASES, PLACEHOLDERS
from smsgate.lib.mask import MASK
from smsgate.web import stats
from smsgate.web.access import admin_required
from smsgate.web.forms import PreviewForm, SendTestForm, SiteSettingsForm
from smsgate.web.gateway_form import GatewayForm
from smsgate.web.views import panels


@admin_required
@never_cache
def gateway_list(request: HttpRequest) -> HttpResponse:
    site = SiteSettings.load()
    initial = {"sending_enabled": site.sending_enabled, "default_region": site.default_region}
    form = SiteSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        site.sending_enabled = form.cleaned_data["sending_enabled"]
        site.default_region = form.cleaned_data["default_region"]
        site.save()
        messages.success(request, f"Saved: sending is {'on' if site.sending_enabled else 'off'}, "
                         f"default region {site.default_region}.")  # fmt: skip
        return redirect("web:gateways")
    context = {
        "form": form,
        "states": stats.gateway_states(),
        "regions": sorted(phonenumbers.SUPPORTED_REGIONS),
    }
    return render(request, "web/gateways.html", context)


@admin_required
@never_cache
def gateway_new(request: HttpRequest) -> HttpResponse:
    start = _preset(request, None)
    form = GatewayForm(request.POST if request.method == "POST" else None, start=start)
    if request.method == "POST" and form.is_valid():
        return _save(request, form)
    return _page(request, form, None)


@admin_required
@never_cache
def gateway_edit(request: HttpRequest, name: str) -> HttpResponse:
    gateway = get_object_or_404(Gateway, name=name)
    start = _preset(request, gateway)
    form = GatewayForm(request.POST if request.method == "POST" else None, gateway=gateway, start=start)
    if request.method == "POST" and form.is_valid():
        return _save(request, form)
    return _page(request, form, gateway)


@admin_required
@require_POST
def gateway_preview(request: HttpRequest, name: str) -> HttpResponse:
    gateway = get_object_or_404(Gateway, name=name)
    form = PreviewForm(request.POST)
    context = {"preview_form": form, **panels.preview(form, gateway)}
    if panels.wants_panel(request):
        return render(request, "web/_preview_panel.html", {"gateway": gateway, **context})
    return _page(request, GatewayForm(gateway=gateway), gateway, **context)


@admin_required
@require_POST
@never_cache
def gateway_test(request: HttpRequest, name: str) -> HttpResponse:
    gateway = get_object_or_404(Gateway, name=name)
    form = SendTestForm(request.POST, gateway=name)
    context = {"test_form": form, **panels.test_send(form, name)}
    if panels.wants_panel(request):
        return render(request, "web/_test_panel.html", {"gateway": gateway, **context})
    return _page(request, GatewayForm(gateway=gateway), gateway, **context)


def _save(request: HttpRequest, form: GatewayForm) -> HttpResponse:
    try:
        with transaction.atomic():
            gateway, created = save_gateway(form.gateway_data)
    except InvalidGateway as e:  # changed by someone else since the form was checked
        for field, reason in e.errors.items():
            form.add_error(None, f"{field}: {reason}")
        return _page(request, form, form.gateway)
    messages.success(request, f"{'Added' if created else 'Saved'} gateway {gateway.name}.")
    for name in form.empty_secrets():
        messages.warning(request, f"The secret {name} is empty: type its value before sending.")
    return redirect("web:gateway", name=gateway.name)


def _preset(request: HttpRequest, gateway: Gateway | None) -> dict | None:
    """Field values from ?preset=NAME: the preset, keeping the name and stored secrets of `gateway`."""
    name = request.GET.get("preset")
    if not name or request.method == "POST":
        return None
    try:
        values = load_preset(name)
    except Exception as e:  # a missing or unreadable file: say so and show the form as it was
        messages.error(request, f"Could not use the preset {name}: {e}")
        return None
    secrets = {
        key: "" if value is None else str(value) for key, value in (values.get("secrets") or {}).items()
    }
    if gateway is not None:
        values["name"] = gateway.name
        secrets = {key: MASK if key in gateway.secrets else value for key, value in secrets.items()}
    values["secrets"] = secrets
    messages.info(request, f"Filled in from the {name} preset: check the fields, type the secrets, save.")
    return values


def _page(request: HttpRequest, form: GatewayForm, gateway: Gateway | None, **extra) -> HttpResponse:
    context = {
        "form": form,
        "gateway": gateway,
        "presets": [name for name in preset_names() if name != "demo"],
        "placeholders": [
            ("{{ secrets.NAME }}" if name == "secrets" else f"{{{{ {name} }}}}", text)
            for name, text in PLACEHOLDERS.items()
        ],
        "aliases": list(ALIASES.items()),
        "preview_form": PreviewForm(),
        "test_form": SendTestForm(gateway=gateway.name if gateway else None),
        **extra,
    }
    return render(request, "web/gateway.html", context)
