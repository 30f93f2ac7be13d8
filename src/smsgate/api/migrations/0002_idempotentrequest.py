import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0001_initial'),
        ('outbox', '0003_message_delivered_at_message_delivery_status_and_more'),
    ]

    operations = [
        migrations.CreateModel(
            name='IdempotentRequest',
            fields=[
                ('message', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='outbox.message')),
                ('body', models.JSONField()),
            ],
        ),
        # A delivery report finds its message by (gateway, provider_message_id). The index lives on the
        # outbox table but belongs to the API's delivery reports, so it is created here, in plain SQL that
        # SQLite and PostgreSQL both understand (Django's model state does not track it).
        migrations.RunSQL(
            sql="CREATE INDEX api_dlr_lookup ON outbox_message (gateway_id, provider_message_id)",
            reverse_sql="DROP INDEX api_dlr_lookup",
        ),
    ]
