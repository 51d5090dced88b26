"""Records of organizational life: an org's list, a record, the form, withdrawal."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from dangjian.core import history as history_rows
from dangjian.core.scoping import can, get_visible_or_404, scope_of
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import paginate
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from .. import queries, services
from ..forms import ActivityForm, WithdrawForm
from ..models import KIND_LABELS, Activity, Attendance

NOT_LISTED = ("none", "未列入")


def home(request):
    """The menu entry: the calendar of the highest organization the user may see (a branch
    secretary lands on their branch); a plain member, their own organizational life."""
    prefixes = scope_of(request.user).prefixes("view")
    org = (Organization.objects.visible_to(request.user).filter(path__in=prefixes).order_by("path").first()
           if prefixes else None)
    if org is not None:
        return redirect("activities:calendar", org.pk)
    if request.user.member_id:
        return redirect("activities:mine")
    return redirect("home")


def mine(request):
    """我的组织生活: the meetings I was listed at, by year, with my attendance, and what my
    branch's requirements of this period still ask."""
    user = request.user
    if not user.member_id:
        messages.info(request, "您的账号没有关联党员，没有本人的组织生活记录")
        return redirect("home")
    me = get_visible_or_404(Member.objects.select_related("org"), user, user.member_id)
    today = timezone.localdate()
    year = _year(request, today.year)
    page_obj, qs_base = paginate(request, queries.member_attendance(me.pk, year=year))
    labels = dict(Attendance.Status.choices)
    for a in page_obj.object_list:
        a.status_label = labels.get(a.status, a.status)
    ctx = {"me": me, "year": year, "years": range(today.year, today.year - 6, -1), "page_obj": page_obj,
           "qs_base": qs_base, "counts": [(labels[s], n) for s, n in queries.attendance_counts(me.pk, year).items()],
           "branch": queries.requirements_now(me.org, today)}
    return render(request, "activities/mine.html", ctx)


def _year(request, default: int) -> int:
    raw = (request.GET.get("year") or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1921 <= int(raw) <= 9999:
        return default
    return int(raw)


def org_activities(request, org_pk):
    user = request.user
    org = queries.org_or_404(user, org_pk)
    kind = request.GET.get("kind", "")
    if kind not in KIND_LABELS:
        kind = ""
    year = _year(request, 0) or None
    page_obj, qs_base = paginate(request, queries.org_activities(org, kind=kind, year=year, user=user))
    ctx = {
        "org": org, "page_obj": page_obj, "qs_base": qs_base, "kind": kind, "year": year,
        "kinds": queries.kind_choices(org), "years": queries.years_with_records(org, user),
        "member_only": not can(user, "view", org.path),
        "can_edit": can(user, "edit", org.path) and org.status == Organization.Status.ACTIVE,
        "this_year": timezone.localdate().year, "this_month": timezone.localdate().strftime("%Y-%m"),
    }
    return render(request, "activities/list.html", ctx)


def detail(request, pk):
    user = request.user
    activity = queries.activity_or_404(user, pk)
    # Removed attachments are no longer listed, but their upload and removal stay in the history.
    files = list(activity.attachments.order_by("id"))
    entries = history_rows.entries_for({"activities.activity": [activity.pk],
                                        "activities.attendance": [activity.pk],
                                        "activities.attachment": [f.pk for f in files]})
    labels = {("activities.attachment", f.pk): f"附件（{f.name}）" for f in files}
    ctx = {
        "activity": activity, "org": activity.org,
        "attendance": queries.attendance_by_status(activity),
        "attachments": [f for f in files if f.is_active],
        "history": history_rows.describe(entries, labels),
        "can_edit": can(user, "edit", activity.org.path) and activity.status == Activity.Status.ACTIVE,
        "member_only": not can(user, "view", activity.org.path),
        # A meeting of another org that the member sat in on: its org's pages are not theirs.
        "sees_org": Organization.objects.visible_to(user).filter(pk=activity.org_id).exists(),
        "backfilled_days": (timezone.localtime(activity.recorded_at).date() - activity.held_on).days,
    }
    return render(request, "activities/detail.html", ctx)


def _form(request, org, initial=None, attendance_initial=None):
    bound = request.method == "POST"
    return ActivityForm(request.POST if bound else None, request.FILES if bound else None, initial=initial,
                        kind_choices=queries.kind_choices(org), members=queries.meeting_members(org),
                        attendance_initial=attendance_initial)


def _attachment_context(request) -> dict:
    return {"attachment_limits": {"count": services.MAX_ATTACHMENTS_PER_SAVE, "types": services.ATTACHMENT_TYPE_NAMES,
                                  "size": services.size_label(services.attachment_max_bytes())},
            # A browser cannot be handed files back: a refused form says they must be chosen again.
            "files_dropped": request.method == "POST" and bool(request.FILES.getlist("attachments"))}


# Service field names that the form calls otherwise.
FORM_FIELD = {"file": "attachments"}


def _save(request, form, write):
    """Runs the service; its error lands on the field it names, nothing is written (neither
    the record nor any of its files)."""
    try:
        return write(**form.service_kwargs())
    except services.ActivityError as exc:
        field = FORM_FIELD.get(exc.field, exc.field)
        field = field if field in form.fields else None
        form.add_error(field, exc.message)
        return None


def create(request, org_pk):
    user = request.user
    org = queries.org_or_404(user, org_pk, "edit")
    if org.status != Organization.Status.ACTIVE:
        raise Http404
    form = _form(request, org, initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        activity = _save(request, form, lambda **kw: services.record_activity(user, org, **kw))
        if activity is not None:
            files = len(form.cleaned_data["attachments"])
            messages.success(request, "组织生活记录已保存" + (f"，含 {files} 个附件。" if files else "。"))
            return redirect("activities:detail", activity.pk)
    return render(request, "activities/form.html",
                  {"form": form, "org": org, "title": f"记录组织生活：{org.name}", "submit": "保存",
                   "statuses": Attendance.Status.choices, **_attachment_context(request)})


def edit(request, pk):
    user = request.user
    activity = queries.activity_or_404(user, pk, "edit")
    if activity.status != Activity.Status.ACTIVE:
        raise Http404
    org = activity.org
    initial = {name: getattr(activity, name) for name in
               ("held_on", "starts_at", "place", "topic", "host", "recorder", "lecturer", "lecturer_name",
                "talk_party_a", "talk_party_b", "minutes", "decisions")}
    initial["kinds"] = activity.kind_list
    initial["version"] = activity.version
    listed = {a.member_id: (a.status, a.reason) for a in activity.attendances.all()}
    members = queries.meeting_members(org)
    # Members who joined after the meeting were not listed: they stay off the list (and a
    # record imported without a list keeps having none).
    att_initial = {m.pk: listed.get(m.pk, ("none", "")) for m in members}
    form = _form(request, org, initial=initial, attendance_initial=att_initial)
    if request.method == "POST" and form.is_valid():
        def write(**kw):
            # An unchanged list is not rewritten: it may name members who have since left.
            if kw["attendance"] == {m: v for m, v in listed.items() if m in kw["attendance"]} and \
                    set(kw["attendance"]) == set(listed) & {m.pk for m in form.members}:
                kw["attendance"] = None
            return services.update_activity(user, activity, version=form.cleaned_data.get("version"), **kw)
        try:
            saved = _save(request, form, write)
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the record as it now is.
            messages.error(request, exc.message)
            return redirect("activities:edit", activity.pk)
        if saved is not None:
            files = len(form.cleaned_data["attachments"])
            messages.success(request, "组织生活记录已修改" + (f"，新增 {files} 个附件。" if files else "。"))
            return redirect("activities:detail", activity.pk)
    return render(request, "activities/form.html",
                  {"form": form, "org": org, "activity": activity, "title": f"修改组织生活记录：{activity}",
                   "submit": "保存修改", "statuses": Attendance.Status.choices + [NOT_LISTED],
                   **_attachment_context(request)})


def withdraw(request, pk):
    user = request.user
    activity = queries.activity_or_404(user, pk, "edit")
    if activity.status != Activity.Status.ACTIVE:
        raise Http404
    form = WithdrawForm(request.POST or None, initial={"version": activity.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_activity(user, activity, form.cleaned_data["reason"], form.cleaned_data.get("version"))
        except services.ActivityError as exc:
            form.add_error("reason", exc.message)
        except StaleVersion as exc:
            # Nothing was saved: back to the record as it now is.
            messages.error(request, exc.message)
            return redirect("activities:detail", activity.pk)
        else:
            messages.success(request, "记录已撤回，不再计入组织生活。")
            return redirect("activities:detail", activity.pk)
    return render(request, "activities/withdraw.html", {"form": form, "activity": activity, "org": activity.org})
