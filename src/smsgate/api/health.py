"""GET /health: for load balancers and monitors; no token. 200 while the database answers."""

from datetime import datetime

from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from smsgate.api.errors import error_body, responses
from smsgate.api.schemas import Schema
from smsgate.api.stats import WORKER_ALIVE
from smsgate.outbox.models import WorkerHeartbeat

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str
    database: str
    last_heartbeat: datetime | None
    worker_alive: bool


@router.get(
    "/health",
    auth=None,
    response={200: HealthOut, **responses(503)},
    summary="Is smsgate up",
    description="200 when the database answers, with the last heartbeat of any worker (a worker that has "
    "not beaten for 30 s is not alive; that alone does not make this fail). 503 when the database does not "
    "answer.",
)
def health(request: HttpRequest):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last = WorkerHeartbeat.objects.aggregate(t=Max("last_seen"))["t"]
    except DatabaseError as e:
        return Status(503, error_body([("database", f"does not answer: {e}")]))
    alive = last is not None and timezone.now() - last < WORKER_ALIVE
    return {"status": "ok", "database": "ok", "last_heartbeat": last, "worker_alive": alive}
