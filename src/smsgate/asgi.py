"""The application `smsgate serve` runs: single sends through the intake, every other request to Django.

Django runs as the WSGI application it always was, in a pool of WEB_THREADS threads (a2wsgi), so its views,
middleware and database connections behave as under a threaded WSGI server; only `POST /api/v1/messages` is
seen first by `api.intake` (why: docs/decisions.md; how: docs/architecture.md).
"""

from smsgate.wsgi import application as django_application  # first: it sets Django up

# isort: split
from a2wsgi import WSGIMiddleware
from django.conf import settings

from smsgate.api.intake import SendIntake

application = SendIntake(WSGIMiddleware(django_application, workers=settings.WEB_THREADS))
