"""`GET /api/admin/catalog/search?kind=product|collection&q=words`: what the admin's pickers list, for the
signed-in merchant's shop only (embedded session token or signed session)."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from backend.dashboard.auth import merchant_view

from .picker import KINDS, MAX_QUERY, search


@require_GET
@merchant_view
def catalog_search(request: HttpRequest) -> JsonResponse:
    kind = request.GET.get("kind", "product")
    if kind not in KINDS:
        return JsonResponse({"error": "kind must be product or collection"}, status=400)
    words = request.GET.get("q", "")
    if len(words) > MAX_QUERY:
        return JsonResponse({"error": f"search for at most {MAX_QUERY} characters"}, status=400)
    found = search(request.shop, kind, words)
    response = JsonResponse({"kind": kind, "results": [c.as_json() for c in found]})
    response["Cache-Control"] = "private, no-store"
    return response
