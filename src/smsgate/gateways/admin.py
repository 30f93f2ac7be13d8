from django.contrib import admin

from smsgate.gateways.models import Gateway, SiteSettings
from smsgate.lib.mask import MASK


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "method", "content_type", "url"]
    # Secrets are write-only: the back office shows their names, never their values.
    exclude = ["secrets"]
    readonly_fields = ["secret_names"]

    @admin.display(description="Secrets")
    def secret_names(self, gateway: Gateway) -> str:
        return ", ".join(f"{name}={MASK}" for name in gateway.secrets) or "-"


admin.site.register(SiteSettings)
