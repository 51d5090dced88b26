"""Forms of the duty pages: marking a manual item done (and withdrawing it), and the item
editor of 工委 staff. The checks that matter are the services'; the forms only parse."""
from django import forms

from dangjian.activities.models import KIND_LABELS, Period
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField

from .models import Evidence, Per, Relation, Where


class MarkForm(ChineseFormMixin, forms.Form):
    item = forms.CharField(label="责任事项", max_length=48, widget=forms.HiddenInput)
    period = forms.CharField(label="周期", max_length=8, widget=forms.HiddenInput)
    done_on = forms.DateField(label="完成日期", widget=DateInput)
    note = forms.CharField(label="完成情况", max_length=200,
                           widget=forms.TextInput(attrs={"placeholder": "如：6月18日党组会议听取机关党委上半年工作汇报"}))


class WithdrawForm(ChineseFormMixin, forms.Form):
    item = forms.CharField(label="责任事项", max_length=48, widget=forms.HiddenInput)
    period = forms.CharField(label="周期", max_length=8, widget=forms.HiddenInput)
    reason = forms.CharField(label="撤销原因", max_length=200)


class ItemForm(ChineseFormMixin, forms.Form):
    title = forms.CharField(label="责任内容", max_length=200)
    version = VersionField()
    period = forms.ChoiceField(label="周期", choices=Period.choices)
    min_count = forms.IntegerField(label="每周期至少次数", min_value=1, max_value=99, initial=1)
    evidence = forms.ChoiceField(label="完成依据", choices=Evidence.choices, widget=forms.RadioSelect)
    kinds = forms.MultipleChoiceField(label="计入的组织生活类型", choices=list(KIND_LABELS.items()), required=False,
                                      widget=forms.CheckboxSelectMultiple)
    where = forms.ChoiceField(label="记录所在组织", choices=[("", "—")] + Where.choices, required=False)
    relation = forms.ChoiceField(label="本人身份", choices=[("", "—")] + Relation.choices, required=False)
    per = forms.ChoiceField(label="标记范围", choices=Per.choices, required=False)
    fact = forms.ChoiceField(label="共用标记", required=False,
                             help_text="几个职务的事项是同一件事时（如党组书记听取机关党委汇报、机关党委书记向党组汇报），"
                                       "选择与之共用，只需标记一次")
    source = forms.CharField(label="依据", max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="法规的全称和条款，如“《中国共产党支部工作条例（试行）》第十一条”；"
                                       "法规未作规定的，写明为机关工委的要求")
    confirmed = forms.BooleanField(label="已核对原文", required=False)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    year = forms.IntegerField(label="自哪一年起执行", min_value=2000, max_value=9999)

    def __init__(self, *args, fact_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fact"].choices = list(fact_choices) or [("", "不与其他条目共用，单独标记")]
        self.fields["fact"].error_messages["invalid_choice"] = "所选的共用事项不存在或已停用，请重新选择"
        for name in ("min_count", "year"):
            f = self.fields[name]
            f.error_messages["invalid"] = f"{f.label}应为整数"
            f.error_messages["min_value"] = f"{f.label}不能小于 %(limit_value)s"
            f.error_messages["max_value"] = f"{f.label}不能大于 %(limit_value)s"
        self.fields["evidence"].widget.attrs["class"] = "form-check-input"
        self.fields["kinds"].widget.attrs["class"] = "form-check-input"

    def item_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("year")
        data.pop("version", None)
        return data


class RetireForm(ChineseFormMixin, forms.Form):
    last_year = forms.IntegerField(label="最后执行的年度", min_value=2000, max_value=9999)
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        f = self.fields["last_year"]
        f.error_messages["invalid"] = "最后执行的年度应为整数"
        f.error_messages["min_value"] = "最后执行的年度不能早于 %(limit_value)s 年"
        f.error_messages["max_value"] = "最后执行的年度不能晚于 %(limit_value)s 年"
