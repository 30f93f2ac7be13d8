"""Each gateway's answers, in its real shapes (see /work/shared/gateways.md), and where the fake serves them.

The rule for presets: the fake serves every preset's API under /<preset name>/<the real URL's path>, so a
preset keeps its real URL and is pointed at the fake by swapping the URL's scheme and host for
<fake base URL>/<preset name> (`fake_url`). The unprefixed paths are the older spellings, kept for the demo
gateway, the benchmarks and anyone's saved gateways.
"""

import re

from smsgate.fakegw.shapes.base import Answer, Generic
from smsgate.fakegw.shapes.burstsms import BurstSMS
from smsgate.fakegw.shapes.clickatell import ClickatellHttp, ClickatellRest
from smsgate.fakegw.shapes.clicksend import ClickSend
from smsgate.fakegw.shapes.infobip import Infobip
from smsgate.fakegw.shapes.messagebird import MessageBird
from smsgate.fakegw.shapes.plivo import Plivo
from smsgate.fakegw.shapes.smsglobal import SMSGlobal
from smsgate.fakegw.shapes.textmagic import Textmagic
from smsgate.fakegw.shapes.twilio import Twilio
from smsgate.fakegw.shapes.vonage import Vonage

# (preset, method, real path, shape)
PRESET_SENDS: tuple[tuple[str, str, str, Generic], ...] = (
    ("clickatell", "POST", "/messages", ClickatellRest()),
    ("clickatell", "GET", "/messages/http/send", ClickatellHttp()),
    ("burstsms", "POST", "/send-sms.json", BurstSMS()),
    ("twilio", "POST", "/2010-04-01/Accounts/{sid}/Messages.json", Twilio()),
    ("vonage", "POST", "/sms/json", Vonage()),
    ("messagebird", "POST", "/messages", MessageBird()),
    ("plivo", "POST", "/v1/Account/{auth_id}/Message/", Plivo()),
    ("infobip", "POST", "/sms/2/text/advanced", Infobip()),
    ("smsglobal", "GET", "/http-api.php", SMSGlobal()),
    ("smsglobal", "POST", "/http-api.php", SMSGlobal()),
    ("clicksend", "POST", "/v3/sms/send", ClickSend()),
    ("textmagic", "POST", "/api/v2/messages", Textmagic()),
    ("generic-json", "POST", "/send", Generic()),
    ("generic-form", "POST", "/send", Generic()),
)
# (preset, real path, shape); all balance requests are GETs
PRESET_BALANCES: tuple[tuple[str, str, Generic], ...] = (
    ("clickatell", "/public-client/balance", ClickatellRest()),
    ("burstsms", "/get-balance.json", BurstSMS()),
    ("twilio", "/2010-04-01/Accounts/{sid}/Balance.json", Twilio()),
    ("vonage", "/account/get-balance", Vonage()),
    ("messagebird", "/balance", MessageBird()),
    ("plivo", "/v1/Account/{auth_id}/", Plivo()),
    ("infobip", "/account/1/balance", Infobip()),
    ("smsglobal", "/credit-api.php", SMSGlobal()),
    ("clicksend", "/v3/account", ClickSend()),
    ("textmagic", "/api/v2/user", Textmagic()),
    ("generic-json", "/balance", Generic()),
    ("generic-form", "/balance", Generic()),
)

SEND_ROUTES: tuple[tuple[str, str, Generic], ...] = (
    ("GET", "/messages/http/send", ClickatellHttp()),
    ("POST", "/messages", ClickatellRest()),
    ("POST", "/send-sms.json", BurstSMS()),
    ("POST", "/sms/json", Vonage()),
    ("GET", "/send", Generic()),
    ("POST", "/send", Generic()),
    *((method, f"/{preset}{path}", shape) for preset, method, path, shape in PRESET_SENDS),
)
BALANCE_ROUTES: tuple[tuple[str, Generic], ...] = (
    ("/public-client/balance", ClickatellRest()),
    ("/get-balance.json", BurstSMS()),
    ("/account/get-balance", Vonage()),
    ("/balance", Generic()),
    *((f"/{preset}{path}", shape) for preset, path, shape in PRESET_BALANCES),
)

_ORIGIN = re.compile(r"^https?://[^/?#]*")


def fake_url(real_url: str, base_url: str, preset: str) -> str:
    """A preset's URL (a template: placeholders survive) aimed at the fake gateway at `base_url`.

    https://api.transmitsms.com/send-sms.json -> http://127.0.0.1:9090/burstsms/send-sms.json
    """
    if not _ORIGIN.match(real_url):
        raise ValueError(f"not an http(s) URL: {real_url!r}")
    return _ORIGIN.sub(lambda _: f"{base_url.rstrip('/')}/{preset}", real_url, count=1)


__all__ = [
    "BALANCE_ROUTES",
    "PRESET_BALANCES",
    "PRESET_SENDS",
    "SEND_ROUTES",
    "Answer",
    "Generic",
    "fake_url",
]
