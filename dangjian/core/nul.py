"""The NUL character (U+0000) never reaches a query.

PostgreSQL cannot hold NUL in any text value, not even as a search term: `?q=李%00` on the
member list or an org code with a NUL in it made the database raise, and the page or the API
answered 500. No field of the platform has a use for the character, so it is dealt with once
here, before any view:
- the API refuses a query parameter holding it with a 400 in its one error shape, naming the
  parameter, as it refuses other malformed parameters (JSON bodies are refused by the
  serializers: DRF's text fields reject NUL, and so does the org code field);
- a page reads its query and form fields without it, as the org search already did.
"""
from django.http import JsonResponse

MESSAGE = "含有空字符（U+0000），请删除后重试"


def _with_nul(querydict) -> list[str]:
    return [key for key, values in querydict.lists() if "\x00" in key or any("\x00" in v for v in values)]


def _without_nul(querydict):
    cleaned = querydict.copy()
    for key in _with_nul(querydict):
        values = [v.replace("\x00", "") for v in cleaned.pop(key)]
        cleaned.setlist(key.replace("\x00", ""), values)
    cleaned._mutable = False
    return cleaned


class NulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            found = _with_nul(request.GET)
            if found:
                errors = {key.replace("\x00", "") or "non_field_errors": [f"{key.replace(chr(0), '')}：{MESSAGE}"]
                          for key in found}
                return JsonResponse({"detail": next(iter(errors.values()))[0], "errors": errors}, status=400,
                                    json_dumps_params={"ensure_ascii": False})
        else:
            if _with_nul(request.GET):
                request.GET = _without_nul(request.GET)
            if request.method == "POST" and request.content_type in (
                    "application/x-www-form-urlencoded", "multipart/form-data") and _with_nul(request.POST):
                request.POST = _without_nul(request.POST)
        return self.get_response(request)
