"""PostgreSQL only: NOTIFY smsgate_queued after each INSERT into outbox_message (see outbox/wakeup.py)."""

from django.db import migrations

CREATE = [
    """CREATE OR REPLACE FUNCTION smsgate_notify_queued() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('smsgate_queued', '');
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER smsgate_notify_queued AFTER INSERT ON outbox_message
    FOR EACH STATEMENT EXECUTE FUNCTION smsgate_notify_queued()""",
]
DROP = [
    "DROP TRIGGER IF EXISTS smsgate_notify_queued ON outbox_message",
    "DROP FUNCTION IF EXISTS smsgate_notify_queued()",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("outbox", "0003_message_delivered_at_message_delivery_status_and_more")]
    operations = [migrations.RunPython(run(CREATE), run(DROP))]
