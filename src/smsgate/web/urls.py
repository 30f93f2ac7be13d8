from django.urls import path

from smsgate.web.views import account, config, dashboard, logs, testsend, tokens

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("live.json", dashboard.live, name="live"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.LogoutView.as_view(), name="logout"),
    path("password/", account.PasswordChangeView.as_view(), name="password"),
    path("test/", testsend.test_send, name="test_send"),
    path("config/sms/", config.gateway_list, name="gateways"),
    path("config/sms/new/", config.gateway_new, name="gateway_new"),
    path("config/sms/<slug:name>/", config.gateway_edit, name="gateway"),
    path("config/sms/<slug:name>/preview/", config.gateway_preview, name="gateway_preview"),
    path("config/sms/<slug:name>/test/", config.gateway_test, name="gateway_test"),
    path("config/api-tokens/", tokens.token_list, name="tokens"),
    path("config/api-tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("logs/sms/", logs.message_list, name="messages"),
    path("logs/sms/export.csv", logs.message_export, name="export"),
    path("logs/sms/<int:pk>/", logs.message_detail, name="message"),
    path("logs/sms/<int:pk>/resend/", logs.message_resend, name="resend"),
    path("logs/sms/<int:pk>/cancel/", logs.message_cancel, name="cancel"),
]
