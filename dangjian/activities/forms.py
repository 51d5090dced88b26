"""The record form: the activity's fields as a form, attendance as one row per member read
from the POST (att_<id> / reason_<id>), so a branch of fifty is marked in fifty clicks at most
and usually in none."""
from django import forms

from dangjian.core.forms import ChineseFormMixin, DateInput

from .models import Attendance

ATTENDANCE_CHOICES = Attendance.Status.choices


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class ActivityForm(ChineseFormMixin, forms.Form):
    kinds = forms.MultipleChoiceField(label="类型", widget=forms.CheckboxSelectMultiple)
    held_on = forms.DateField(label="日期", widget=DateInput)
    starts_at = forms.TimeField(label="开始时间", required=False, widget=TimeInput)
    place = forms.CharField(label="地点", max_length=100, required=False)
    topic = forms.CharField(label="主题", max_length=200, required=False)
    host = MemberChoiceField(label="主持人", queryset=None, required=False)
    recorder = MemberChoiceField(label="记录人", queryset=None, required=False)
    lecturer = MemberChoiceField(label="授课人", queryset=None, required=False)
    lecturer_name = forms.CharField(label="授课人（非本组织）", max_length=50, required=False)
    talk_party_a = MemberChoiceField(label="谈话人", queryset=None, required=False)
    talk_party_b = MemberChoiceField(label="谈话对象", queryset=None, required=False)
    minutes = forms.CharField(label="会议记录", required=False, widget=forms.Textarea(attrs={"rows": 8}))
    decisions = forms.CharField(label="决定事项", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, kind_choices, members, attendance_initial=None, **kwargs):
        super().__init__(*args, **kwargs)
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
        data = self.data if self.is_bound else None
        for m in self.members:
            if data is not None:
                status = data.get(f"att_{m.pk}", "present")
                reason = data.get(f"reason_{m.pk}", "")
            else:
                status, reason = initial.get(m.pk, ("present", ""))
            self.attendance_rows.append({"member": m, "status": status, "reason": reason})

    def clean(self):
        cleaned = super().clean()
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
        if "talk" in kinds:
            kw["talk_parties"] = [d["talk_party_a"], d["talk_party_b"]]
            kw["attendance"] = {}
        else:
            kw["talk_parties"] = None
            kw["attendance"] = self.attendance()
        return kw


class WithdrawForm(ChineseFormMixin, forms.Form):
    reason = forms.CharField(label="撤回原因", max_length=200)
