"""Who may do what: administrators (Django superusers) everything, operators (any other user) the
history, sending and test sends, never the gateway settings."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

ADMIN, OPERATOR = "admin", "operator"


def is_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def role_of(user) -> str:
    return ADMIN if is_admin(user) else OPERATOR


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; an operator gets the 403 page, which says why."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("Only administrators can see and change the gateway settings.")
        return view(request, *args, **kwargs)

    return wrapped
