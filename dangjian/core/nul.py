"""Requests carrying a NUL character (U+0000) are refused at the door with a 400.

PostgreSQL cannot hold NUL in any text value, not even as a query parameter: a search for
`?q=a%00b` or an org code with a NUL in it made the database raise, and the page or the API
answered 500. No field of the platform has a use for the character, so the query string and
the form fields are checked once here, before any view. JSON bodies are refused by the API's
serializers (DRF's text fields reject NUL; the org code field does the same).
"""
from django.http import HttpResponseBadRequest, JsonResponse

MESSAGE = "请求中含有空字符（U+0000），无法处理，请删除后重试"


def has_nul(querydict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in querydict.lists())


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = has_nul(request.GET) or (
            request.method == "POST"
            and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
            and has_nul(request.POST))
        if found:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE, "errors": {"non_field_errors": [MESSAGE]}}, status=400,
                                    json_dumps_params={"ensure_ascii": False})
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
