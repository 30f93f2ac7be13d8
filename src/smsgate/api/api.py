from ninja import NinjaAPI

api = NinjaAPI(title="smsgate", version="1", urls_namespace="api-v1")
