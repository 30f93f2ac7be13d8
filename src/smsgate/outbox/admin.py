from django.contrib import admin

from smsgate.outbox.models import Attempt, Message


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["started_at", "gateway_name", "duration_ms", "http_status", "outcome", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "phone", "status", "gateway", "attempts_count", "last_error"]
    list_filter = ["status", "gateway"]
    search_fields = ["phone", "text", "reference", "provider_message_id"]
    inlines = [AttemptInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Message._meta.fields]
