from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.functional import cached_property

from .scoping import committee_staff_only

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


# ---- the holiday arrangements (core.workdays) ------------------------------------------------------

class HolidayYearForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100,
                              error_messages={"required": "请填写年度", "invalid": "年度应为四位数字",
                                              "min_value": "年度应在 2000 到 2100 之间",
                                              "max_value": "年度应在 2000 到 2100 之间"})
    notice = forms.CharField(label="依据", max_length=200, help_text="国务院办公厅通知的名称或文号",
                             error_messages={"required": "请写明依据的通知"})
    holidays = forms.CharField(label="放假安排", widget=forms.Textarea(attrs={"rows": 7}),
                               help_text="每段一行：2027-10-01 至 2027-10-07 国庆节（照通知写，含周末）",
                               error_messages={"required": "请填写放假安排"})
    workdays = forms.CharField(label="调休上班", required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="每天一行：2027-09-26 国庆节；没有则不填")


@committee_staff_only
def holidays(request):
    """The years whose public holidays and make-up working days are known, the days of one, and
    the form the working committee enters a year with from the State Council's notice."""
    from .models import CalendarDay, CalendarYear
    from .workdays import WorkdayError, enter_year

    form = HolidayYearForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            row = enter_year(request.user, d["year"], holidays=d["holidays"], workdays=d["workdays"] or "",
                             notice=d["notice"])
        except WorkdayError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已录入 {row.year} 年节假日安排。")
            return redirect(f"{request.path}?year={row.year}")
    years = list(CalendarYear.objects.select_related("entered_by").order_by("-year"))
    raw = (request.GET.get("year") or "").strip()
    shown = int(raw) if raw.isdigit() and len(raw) == 4 else (years[0].year if years else None)
    days = list(CalendarDay.objects.filter(day__year=shown).order_by("day")) if shown else []
    known = any(y.year == shown for y in years)
    return render(request, "core/holidays.html", {"form": form, "years": years, "shown": shown, "days": days,
                                                  "known": known},
                  status=400 if request.method == "POST" else 200)
