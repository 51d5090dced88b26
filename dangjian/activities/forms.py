"""The record form: the activity's fields as a form, attendance as one row per member, so a
branch of fifty is marked in fifty clicks at most and usually in none. Also the form of a rule
change (a new version of a frequency requirement).

Attendance arrives as one field, `attendance`: a JSON list of [member id, status, reason] that
static/js/attendance.js builds from the rows when the form is sent. One radio group and one
reason box per member would be two POST fields each, and an org of 3,000 members would pass
Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000): every save answered 400. Without JavaScript the
rows are sent as themselves (att_<id> / reason_<id>), which a branch stays well within."""
import json

from django import forms
from django.conf import settings

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.orgs.models import OrgKind

from . import services
from .checks import TEXT_LIMITS
from .models import KINDS_FOR_ORG, Attendance, Condition, Period, Quorum

ATTENDANCE_CHOICES = Attendance.Status.choices
ATTENDANCE_FIELD = "attendance"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the checks of size, type and content are the service's
    (check_uploads), the same for every door."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(services.ATTACHMENT_TYPES)}))
        super().__init__(*args, allow_empty_file=True, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


class ActivityForm(ChineseFormMixin, forms.Form):
    kinds = forms.MultipleChoiceField(label="类型", widget=forms.CheckboxSelectMultiple)
    version = VersionField()
    held_on = forms.DateField(label="日期", widget=DateInput)
    starts_at = forms.TimeField(label="开始时间", required=False, widget=TimeInput)
    place = forms.CharField(label="地点", max_length=TEXT_LIMITS["place"], required=False)
    topic = forms.CharField(label="主题", max_length=TEXT_LIMITS["topic"], required=False)
    host = MemberChoiceField(label="主持人", queryset=None, required=False)
    recorder = MemberChoiceField(label="记录人", queryset=None, required=False)
    lecturer = MemberChoiceField(label="授课人", queryset=None, required=False)
    lecturer_name = forms.CharField(label="授课人（非本组织）", max_length=TEXT_LIMITS["lecturer_name"], required=False)
    talk_party_a = MemberChoiceField(label="谈话人", queryset=None, required=False)
    talk_party_b = MemberChoiceField(label="谈话对象", queryset=None, required=False)
    # The same limits as the API's and the import's (checks.TEXT_LIMITS).
    minutes = forms.CharField(label="会议记录", required=False, max_length=TEXT_LIMITS["minutes"],
                              widget=forms.Textarea(attrs={"rows": 8}))
    decisions = forms.CharField(label="决定事项", required=False, max_length=TEXT_LIMITS["decisions"],
                                widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label="附件", required=False)

    def __init__(self, *args, kind_choices, members, attendance_initial=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].error_messages.update(
            invalid="附件：上传的不是文件，请重新选择", missing="附件：没有收到文件，请重新选择",
            max_length="附件：文件名过长")
        self.fields["kinds"].choices = kind_choices
        self.fields["kinds"].error_messages["invalid_choice"] = "类型：“%(value)s”不是本组织可开展的组织生活类型"
        self.fields["kinds"].widget.attrs["class"] = "form-check-input"
        self.fields["starts_at"].error_messages["invalid"] = "开始时间不是有效的时间（格式：14:30）"
        for name in ("host", "recorder", "lecturer", "talk_party_a", "talk_party_b"):
            self.fields[name].queryset = members
            self.fields[name].empty_label = "—"
        self.members = list(members)
        initial = attendance_initial or {}
        self.attendance_rows = []
        self.attendance_error = ""
        data = self.data if self.is_bound else None
        sent = self._sent_attendance(data.get(ATTENDANCE_FIELD, "")) if data is not None else None
        for m in self.members:
            if sent is not None:
                status, reason = sent.get(m.pk, ("present", ""))
            elif data is not None:
                status = data.get(f"att_{m.pk}", "present")
                reason = data.get(f"reason_{m.pk}", "")
            else:
                status, reason = initial.get(m.pk, ("present", ""))
            self.attendance_rows.append({"member": m, "status": status, "reason": reason})

    @property
    def rows_without_script(self) -> int:
        """How many attendance rows fit the server's field limit when sent as their own fields
        (two each, beside the form's own two dozen)."""
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return (limit - len(self.fields) - 10) // 2 if limit else len(self.members)

    def _sent_attendance(self, raw: str) -> dict[int, tuple[str, str]] | None:
        """The `attendance` field read into {member id: (status, reason)}; None when it was not
        sent (the rows came as fields of their own)."""
        if not raw:
            return None
        try:
            rows = json.loads(raw)
            found = {int(mid): (str(status), str(reason)) for mid, status, reason in rows}
        except (ValueError, TypeError):
            self.attendance_error = "出席情况：名单的格式不对，请刷新页面后重新填写"
            return {}
        known = {m.pk for m in self.members}
        if set(found) - known:
            self.attendance_error = "出席情况：名单中有不属于本次会议可选范围的党员，请刷新页面后重新填写"
        return found

    def clean(self):
        cleaned = super().clean()
        if self.attendance_error:
            self.add_error(None, self.attendance_error)
        valid = {c for c, _ in ATTENDANCE_CHOICES} | {"none"}
        for row in self.attendance_rows:
            if row["status"] not in valid:
                self.add_error(None, f"出席情况：{row['member'].name}的出席情况“{row['status']}”无效")
        return cleaned

    def attendance(self) -> dict:
        """{member id: (status, reason)}; "none" leaves a member off the list (not expected)."""
        return {r["member"].pk: (r["status"], r["reason"].strip()) for r in self.attendance_rows
                if r["status"] != "none"}

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        kinds = d["kinds"]
        kw = {name: d[name] for name in ("held_on", "starts_at", "place", "topic", "host", "recorder", "lecturer",
                                         "lecturer_name", "minutes", "decisions")}
        kw["kinds"] = kinds
        kw["attachments"] = d.get("attachments") or []
        if "talk" in kinds:
            kw["talk_parties"] = [d["talk_party_a"], d["talk_party_b"]]
            kw["attendance"] = {}
        else:
            kw["talk_parties"] = None
            kw["attendance"] = self.attendance()
        return kw


class WithdrawForm(ChineseFormMixin, forms.Form):
    reason = forms.CharField(label="撤回原因", max_length=200)
    version = VersionField()


class RuleChangeForm(ChineseFormMixin, forms.Form):
    """A new version of a frequency requirement from an effective date. The checks are
    services.change_rule's; this form only types the input."""

    effective_from = forms.DateField(label="生效日期", widget=DateInput)
    period = forms.ChoiceField(label="周期", choices=Period.choices)
    min_count = forms.IntegerField(label="最少次数", min_value=0, max_value=99)
    quorum = forms.ChoiceField(label="到会要求", choices=Quorum.choices)
    org_kinds = forms.MultipleChoiceField(label="适用组织类别", widget=forms.CheckboxSelectMultiple)
    condition = forms.ChoiceField(label="适用条件", choices=Condition.choices)
    source = forms.CharField(label="依据", max_length=300, help_text="法规的全称和条款，如“《中国共产党支部工作条例（试行）》第十一条”")
    confirmed = forms.BooleanField(label="已核对原文", required=False)
    note = forms.CharField(label="说明", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, rule, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(OrgKind.choices)
        # Only the kinds of organization that hold this kind of activity can be bound by it.
        self.fields["org_kinds"].choices = [(k, labels[k]) for k in labels if k in KINDS_FOR_ORG[rule.kind]]
        self.fields["org_kinds"].widget.attrs["class"] = "form-check-input"
        if rule.kind != "party_lecture":
            self.fields["condition"].choices = [c for c in Condition.choices if c[0] != Condition.LECTURE_BY_SECRETARY]
        self.fields["org_kinds"].error_messages.update(
            required="请至少选择一种适用组织类别", invalid_choice="适用组织类别：“%(value)s”不在可选范围内")
        f = self.fields["min_count"]
        f.error_messages.update(invalid="最少次数应为整数", min_value="最少次数不能小于 0",
                                max_value="最少次数不能大于 99")
        self.fields["source"].error_messages["required"] = "请写明调整的依据（文件名称和条款）"
        self.fields["effective_from"].error_messages["required"] = "请填写生效日期"

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {name: d[name] for name in services.RULE_FIELDS}
