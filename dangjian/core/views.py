from django.conf import settings
from django.core.paginator import Paginator


def paginate(request, qs, per_page: int | None = None):
    """A page of `qs` plus the query string without `page` (for the page links) and
    without `part` (which only selects an HTMX fragment and must not end up in the address)."""
    page = Paginator(qs, per_page or settings.PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("part", None)
    base = params.urlencode()
    return page, (base + "&" if base else "")


def is_htmx(request) -> bool:
    """A partial is wanted for HTMX swaps, but not when HTMX restores history."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


class QueryParams:
    """A page's query parameters, each checked: a bad one is dropped with a message in Chinese
    saying what is shown instead (collected in `problems`), never an error page. Pages add their
    own parameters on top of these readers."""

    def __init__(self, request):
        self.get = request.GET
        self.problems: list[str] = []

    def _raw(self, name: str) -> str:
        return (self.get.get(name) or "").strip()

    def _int(self, name: str, label: str) -> int | None:
        raw = self._raw(name)
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 12:
            self.problems.append(f"{label}参数“{raw[:20]}”无效，已忽略")
            return None
        return int(raw)

    def _coded(self, name: str, labels: dict, label: str, shown: str = "全部") -> str:
        raw = self._raw(name)
        if raw and raw not in labels:
            self.problems.append(f"{label}“{raw[:20]}”不存在，已显示{shown}")
            return ""
        return raw
