from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property

# Lists count their rows up to this many; past it they say "10,000+" and page that far. An
# exact count of a province's million members reads every row of the subtree on every page
# (PostgreSQL keeps no row count), which alone costs more than the whole page should; nobody
# pages through more than this, they narrow the list with its filters instead.
COUNT_LIMIT = 10_000


class BoundedPaginator(Paginator):
    """A paginator that counts a queryset's rows only up to COUNT_LIMIT (one
    `SELECT COUNT(*) FROM (… LIMIT COUNT_LIMIT + 1)` that stops there); lists in memory are
    counted exactly. `capped` says whether there are more; `count_text` shows it."""

    limit = COUNT_LIMIT

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        rows = self.object_list
        if hasattr(rows, "bounded_count"):  # a list that counts itself up to a limit
            n = rows.bounded_count(self.limit + 1)
            return min(n, self.limit), n > self.limit
        if hasattr(rows, "query"):
            # The order only costs here: the count of the first rows in any order is the same.
            n = rows.order_by()[: self.limit + 1].count()
            return min(n, self.limit), n > self.limit
        return len(rows), False

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def capped(self) -> bool:
        return self._counted[1]

    @property
    def count_text(self) -> str:
        return f"{self.count:,}+" if self.capped else str(self.count)


def paginate(request, qs, per_page: int | None = None):
    """A page of `qs` plus the query string without `page` (for the page links) and
    without `part` (which only selects an HTMX fragment and must not end up in the address).
    A queryset is counted up to COUNT_LIMIT rows (`BoundedPaginator`)."""
    page = BoundedPaginator(qs, per_page or settings.PAGE_SIZE).get_page(request.GET.get("page"))
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
