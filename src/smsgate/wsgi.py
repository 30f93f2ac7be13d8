import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
application = get_wsgi_application()
# Import the views now rather than on a worker's first request, which took half a second while clients waited.
get_resolver().url_patterns  # noqa: B018
