"""The small forms: sending, test send, preview, the global settings, the history's filters."""

import phonenumbers
from django import forms

from smsgate.gateways.models import Gateway
from smsgate.outbox.enqueue import InvalidMessage
from smsgate.outbox.models import Message
from smsgate.outbox.testsend import DEFAULT_TEXT

# InvalidMessage names the API's fields; the pages call the number "phone".
_FIELD_OF = {"to": "phone", "text": "text", "gateway": "gateway"}


def gateway_choices(default_label: str) -> list[tuple[str, str]]:
    names = Gateway.objects.order_by("name").values_list("name", "enabled")
    return [("", default_label)] + [(n, n if on else f"{n} (disabled)") for n, on in names]


class MessageForm(forms.Form):
    """Phone and text, checked by the same code as the CLI and the API (InvalidMessage)."""

    phone = forms.CharField(
        label="Phone",
        required=False,
        max_length=40,
        help_text="International (+61491570156) or national in the default region.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    text = forms.CharField(
        label="Text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "data-counter": ""}),
    )

    def clean_text(self) -> str:
        # Browsers send a textarea's line breaks as CR LF; one LF is one character less in every SMS.
        return self.cleaned_data["text"].replace("\r\n", "\n")

    def add_message_error(self, error: InvalidMessage) -> None:
        field = _FIELD_OF.get(error.field)
        self.add_error(field if field in self.fields else None, error.reason)


class SendForm(MessageForm):
    gateway = forms.ChoiceField(label="Gateway", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gateway"].choices = gateway_choices("default (the first enabled)")


class SendTestForm(MessageForm):
    prefix = "test"  # its fields share a page with the Preview form's
    gateway = forms.ChoiceField(label="Gateway", required=False)

    def __init__(self, *args, gateway: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = f"Empty: “{DEFAULT_TEXT}”."
        self.fields["text"].widget.attrs["rows"] = 2
        if gateway:
            del self.fields["gateway"]  # the gateway page tests its own gateway
        else:
            self.fields["gateway"].choices = gateway_choices("default (the first enabled)")


class PreviewForm(MessageForm):
    prefix = "preview"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].initial = DEFAULT_TEXT
        self.fields["text"].widget.attrs["rows"] = 2


class SiteSettingsForm(forms.Form):
    sending_enabled = forms.BooleanField(
        label="Send SMS",
        required=False,
        help_text="The master switch. Off: every SMS waits in the queue (and expires in time).",
    )
    default_region = forms.CharField(
        label="Default region",
        max_length=2,
        help_text="Two-letter country code for numbers written without one (0491 570 156 in AU).",
        widget=forms.TextInput(attrs={"size": 3, "list": "regions", "autocapitalize": "characters"}),
    )

    def clean_default_region(self) -> str:
        region = self.cleaned_data["default_region"].strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(f"{region!r} is not a known country code (e.g. AU, GB, US)")
        return region


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False)
    gateway = forms.ChoiceField(label="Gateway", required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(label="Phone", required=False, max_length=40)
    q = forms.CharField(label="Text contains", required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "any")] + list(Message.Status.choices)
        self.fields["gateway"].choices = gateway_choices("any")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "must be on or after the From date")
        return cleaned
