from django import forms

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.members.models import Education
from dangjian.orgs.fields import OrgField
from dangjian.orgs.models import Organization

from . import catalog
from .checks import DEVELOPING_KINDS, sponsor_word


class ApplicantForm(ChineseFormMixin, forms.Form):
    org = OrgField(label="培养党支部", capability="edit", kinds=DEVELOPING_KINDS, to_field_name="code")
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号", max_length=18, help_text="出生日期和性别由身份证号读出，只加密保存")
    education = forms.ChoiceField(label="学历", choices=[("", "请选择"), *Education.choices])
    ethnicity = forms.CharField(label="民族", max_length=20, initial="汉族")
    phone = forms.CharField(label="手机号码", max_length=20, required=False)
    workplace = forms.CharField(label="工作单位", max_length=100)
    applied_on = forms.DateField(label="递交入党申请书日期", widget=DateInput())
    document = forms.FileField(label="入党申请书（可选上传）", required=False,
                               help_text="由申请人本人书写；可上传扫描件，也可只登记已收到，不要求照片")
    document_received = forms.BooleanField(label="入党申请书已收到", required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = Organization.objects.visible_to(user, "edit").active().filter(
            kind__in=DEVELOPING_KINDS)


class MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, m):
        return f"{m.name}（{m.org.name}，{m.get_category_display()}）"


class StepForm(ChineseFormMixin, forms.Form):
    """The form of one step of the catalog: only the fields that step records."""

    done_on = forms.DateField(label="日期", widget=DateInput())
    talker = MemberChoice(label="谈话人", queryset=None, empty_label="请选择")
    first_sponsor = MemberChoice(label="第一联系人", queryset=None, empty_label="请选择")
    second_sponsor = MemberChoice(label="第二联系人", queryset=None, empty_label="请选择", required=False)
    decision = forms.ChoiceField(label="决定")
    vote_expected = forms.IntegerField(label="应到会有表决权党员（人）", min_value=0, max_value=100000)
    vote_present = forms.IntegerField(label="实到会有表决权党员（人）", min_value=0, max_value=100000)
    vote_for = forms.IntegerField(label="赞成票", min_value=0, max_value=100000)
    training_days = forms.IntegerField(label="培训天数", min_value=0, max_value=366, required=False)
    training_hours = forms.IntegerField(label="培训学时", min_value=0, max_value=2000, required=False)
    extension_months = forms.IntegerField(label="延长预备期（月）", min_value=0, max_value=24, required=False,
                                          help_text="决定延长预备期时填写：6 至 12 个月，只能延长一次")
    approver = forms.ModelChoiceField(label="审批党委", queryset=None, empty_label="请选择")
    party_group_consulted = forms.BooleanField(label="审批前已报党组讨论", required=False,
                                               help_text="机关党委审批前须提前报党组讨论决定（机关基层组织工作条例第三十七条）")
    document = forms.FileField(label="材料（可选上传）", required=False)
    document_received = forms.BooleanField(label="材料已收到", required=False)
    note = forms.CharField(label="说明", max_length=300, required=False)
    version = VersionField()

    def __init__(self, *args, step: catalog.Step, members, approvers, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        f = self.fields
        if step.talker:
            f["talker"].queryset = members
        else:
            del f["talker"]
        if step.sponsors:
            word = sponsor_word(step.code)
            full = members.filter(category="full")
            f["first_sponsor"].queryset = f["second_sponsor"].queryset = full
            f["first_sponsor"].label, f["second_sponsor"].label = f"第一{word}", f"第二{word}"
            f["second_sponsor"].required = step.sponsors_exact
            for name in ("first_sponsor", "second_sponsor"):
                f[name].error_messages["required"] = f"请选择{f[name].label}"
        else:
            del f["first_sponsor"], f["second_sponsor"]
        if step.decision:
            f["decision"].choices = [("", "请选择"), *[(d, catalog.DECISION_LABELS[d]) for d in step.decision]]
            if step.code == "confirm_meeting":
                f["decision"].label = "支部大会决议"
            elif step.approval:
                f["decision"].label = "审批意见（是否同意支部大会决议）"
            elif step.code == "political_review":
                f["decision"].label = "政审结论（同意即合格）"
        else:
            del f["decision"]
        if not step.vote:
            del f["vote_expected"], f["vote_present"], f["vote_for"]
        if not step.training:
            del f["training_days"], f["training_hours"]
        if step.code != "confirm_meeting":
            del f["extension_months"]
        if step.approval:
            f["approver"].queryset = approvers
        else:
            del f["approver"], f["party_group_consulted"]
        if step.document:
            f["document"].label = f"{step.document}（可选上传）"
            f["document"].help_text = "由本人或党组织按规定书写；可上传扫描件，也可只登记已收到，不要求照片"
            f["document_received"].label = f"{step.document}已收到"
        else:
            del f["document"], f["document_received"]


class StopForm(ChineseFormMixin, forms.Form):
    reason = forms.CharField(label="终止原因", max_length=200)
    version = VersionField()


class CorrectionForm(StepForm):
    """The latest step's form filled with its recorded values, and why it is corrected. The
    document is kept as uploaded (a wrong file is withdrawn with its step and recorded again)."""

    reason = forms.CharField(label="更正原因", max_length=200, help_text="如：日期录入有误、谈话人选错")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("document", None)


class WithdrawForm(ChineseFormMixin, forms.Form):
    reason = forms.CharField(label="撤回原因", max_length=200)
    version = VersionField()


class AccountForm(ChineseFormMixin, forms.Form):
    username = forms.CharField(label="登录名", max_length=30, help_text="4 至 30 个字符：字母、数字和 _ . @ -")
