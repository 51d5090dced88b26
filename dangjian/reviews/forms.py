"""Forms of 述职评议: they only type the input; the rules are the services'."""
from django import forms

from dangjian.assessment.models import Run
from dangjian.core import periods
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.orgs.fields import OrgField

from .models import DEFAULT_GRADE_POINTS, GRADE_LABELS, GRADES, ORGANIZER_KINDS
from .services import MAX_BALLOTS_PER_ISSUE


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.post}）" if obj.post else obj.name


class RunChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.scheme.name} {periods.name_of(obj.period)}"


def _integer_messages(field, label: str, low: int, high: int):
    field.error_messages.update(invalid=f"{label}应为整数", min_value=f"{label}不能小于 {low}",
                                max_value=f"{label}不能大于 {high}")


class ReviewForm(ChineseFormMixin, forms.Form):
    org = OrgField(label="组织单位", capability="edit", kinds=ORGANIZER_KINDS,
                   help_text="机关工委、党委、机关党委或党总支，须为您有权管理的组织")
    year = forms.IntegerField(label="年度", min_value=2000, max_value=9999)
    title = forms.CharField(label="名称", max_length=100)
    version = VersionField()
    meeting_on = forms.DateField(label="评议会日期", required=False, widget=DateInput)
    vote_share = forms.DecimalField(label="评议票占比（%）", min_value=0, max_value=100, decimal_places=2,
                                    help_text="综合得分 = 评议得分 × 占比 + 考核得分（折算为百分制）× (100% − 占比)；"
                                              "不关联考核时综合得分即评议得分")
    run = RunChoiceField(label="关联考核", queryset=None, required=False, empty_label="不关联",
                         help_text="该年度已定稿的年度或季度考核结果，计入综合得分")

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        if orgs is None:
            del self.fields["org"]
            del self.fields["year"]
        else:
            self.fields["org"].queryset = orgs
            _integer_messages(self.fields["year"], "年度", 2000, 9999)
        self.fields["run"].queryset = (Run.objects.filter(status=Run.Status.FINAL).select_related("scheme")
                                       .order_by("-period_start", "scheme__code"))
        self.fields["vote_share"].error_messages.update(
            invalid="评议票占比应为数字", min_value="评议票占比不能小于 0", max_value="评议票占比不能大于 100",
            max_decimal_places="评议票占比最多保留两位小数", max_digits="评议票占比最多保留两位小数")
        for g in GRADES:
            name = f"points_{g}"
            self.fields[name] = forms.IntegerField(label=f"“{GRADE_LABELS[g]}”分值", min_value=0, max_value=100,
                                                   initial=DEFAULT_GRADE_POINTS[g])
            _integer_messages(self.fields[name], f"“{GRADE_LABELS[g]}”分值", 0, 100)
            self.fields[name].error_messages["required"] = f"请填写“{GRADE_LABELS[g]}”分值"
            self.fields[name].widget.attrs["class"] = "form-control"

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"title": d["title"], "meeting_on": d["meeting_on"], "vote_share": d["vote_share"], "run": d["run"],
                "grade_points": {g: d[f"points_{g}"] for g in GRADES}}


class GroupForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    name = forms.CharField(label="投票群体", max_length=40, help_text="如 党员代表、两代表一委员、群众代表")
    weight = forms.DecimalField(label="权重（%）", min_value=0, max_value=100, decimal_places=2,
                                help_text="各群体权重之和应为 100")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["weight"].error_messages.update(
            invalid="权重应为数字", min_value="权重不能小于 0", max_value="权重不能大于 100",
            max_decimal_places="权重最多保留两位小数", max_digits="权重最多保留两位小数")


class BallotForm(ChineseFormMixin, forms.Form):
    OUTPUTS = [("page", "打印页面"), ("xlsx", "Excel 文件")]

    group = forms.ChoiceField(label="投票群体")
    count = forms.IntegerField(label="张数", min_value=1, max_value=MAX_BALLOTS_PER_ISSUE)
    output = forms.ChoiceField(label="输出", choices=OUTPUTS, initial="page", widget=forms.RadioSelect)

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [(str(g.pk), g.name) for g in groups]
        _integer_messages(self.fields["count"], "张数", 1, MAX_BALLOTS_PER_ISSUE)
        self.fields["output"].widget.attrs["class"] = "form-check-input"


class ReportForm(ChineseFormMixin, forms.Form):
    # The report's version as drawn; 0 when the org had none, so a report submitted meanwhile
    # by someone else is not replaced unseen.
    version = VersionField(min_value=0)
    reporter = MemberChoiceField(label="述职人", queryset=None, empty_label=None)
    title = forms.CharField(label="标题", max_length=200, required=False, help_text="不填则为“××书记××年度抓基层党建工作述职报告”")
    text = forms.CharField(label="报告正文", required=False, widget=forms.Textarea(attrs={"rows": 14}),
                           help_text="粘贴正文，或在下方上传 .txt / .docx 文件（二选一）")
    file = forms.FileField(label="上传文件", required=False, widget=forms.ClearableFileInput(attrs={"accept": ".txt,.docx"}),
                           help_text="只接受 .txt（UTF-8 编码）或 .docx 文件，最大 10 MB；正文从文件中读取")
    keep_original = forms.BooleanField(label="同时保存原文件", required=False, initial=True)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reporter"].queryset = members
        self.fields["file"].error_messages.update(invalid="上传的不是文件，请重新选择", empty="是空文件",
                                                  missing="没有收到文件，请重新选择", max_length="文件名过长")


class CodeForm(forms.Form):
    code = forms.CharField(label="票码", required=False,
                           widget=forms.TextInput(attrs={"class": "form-control form-control-lg text-center",
                                                         "autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "maxlength": 40,
                                                         "placeholder": "XXXX-XXXX-XXXX-XXXX"}))


class ItemForm(ChineseFormMixin, forms.Form):
    text = forms.CharField(label="点评意见及整改要求", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    due_on = forms.DateField(label="整改期限", required=False, widget=DateInput)
