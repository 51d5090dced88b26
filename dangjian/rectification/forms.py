"""The forms of the item screens: opening an item, and one small form per move. Each move form
carries the version of the item it was drawn from; the checks are the services' own."""
from django import forms

from dangjian.activities.forms import MultipleFileField
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.orgs.fields import OrgAutocomplete, OrgField

from .models import Item

TEXT_WIDGET = forms.Textarea(attrs={"rows": 3})


class ItemForm(ChineseFormMixin, forms.Form):
    """交办: a new item for an organization of the issuing side's subtree."""

    issuer = OrgField(label="交办单位", capability="edit", to_field_name="code",
                      widget=OrgAutocomplete(attrs={"class": "form-control"}))
    org = OrgField(label="责任单位", capability="edit", to_field_name="code",
                   widget=OrgAutocomplete(attrs={"class": "form-control"}))
    list = forms.ChoiceField(label="清单", choices=Item.List.choices)
    title = forms.CharField(label="事项", max_length=200)
    description = forms.CharField(label="具体内容及整改要求", max_length=10_000, required=False, widget=TEXT_WIDGET)
    deadline = forms.DateField(label="整改时限", required=False, widget=DateInput(),
                               help_text="填写日期，或在下一项填写工作日天数")
    workdays = forms.IntegerField(label="时限（工作日）", required=False, min_value=1, max_value=250,
                                  help_text="自交办之日起的工作日天数，节假日和调休按国务院安排计算")
    source = forms.ChoiceField(label="来源", choices=[(Item.Source.MANUAL, Item.Source.MANUAL.label),
                                                      (Item.Source.COMPLIANCE, Item.Source.COMPLIANCE.label)],
                               widget=forms.HiddenInput)
    source_id = forms.IntegerField(label="来源记录", required=False, min_value=1, widget=forms.HiddenInput)
    source_label = forms.CharField(label="来源说明", max_length=200, required=False)

    def __init__(self, *args, issuers, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].queryset = issuers
        self.fields["org"].queryset = orgs
        days = self.fields["workdays"].error_messages
        days["min_value"] = days["max_value"] = "时限（工作日）：应为 1 到 250 之间的整数"
        days["invalid"] = "时限（工作日）：应为整数"

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("deadline") is None and data.get("workdays") is None:
            self.add_error("deadline", "整改时限：请填写日期或工作日天数")
        return data


class MoveForm(ChineseFormMixin, forms.Form):
    """A move with a text: 签收, 进展, 申请销号, 销号, 退回."""

    text = forms.CharField(label="内容", max_length=4000, required=False, widget=TEXT_WIDGET)
    version = VersionField()

    LABELS = {"sign": ("签收意见", False), "note": ("整改进展", True), "request": ("整改情况及佐证", True),
              "close": ("核查意见", True), "return": ("退回原因", True)}

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        label, required = self.LABELS[kind]
        field = self.fields["text"]
        field.label, field.required = label, required
        field.error_messages["required"] = f"{label}：必填"
        field.error_messages["max_length"] = f"{label}：过长（最多 4000 个字）"
        if kind == "request":
            self.fields["files"] = MultipleFileField(label="佐证材料（可选，不要求照片）", required=False)


class ReferForm(ChineseFormMixin, forms.Form):
    to_org = OrgField(label="转办至", capability="view", to_field_name="code",
                      widget=OrgAutocomplete(attrs={"class": "form-control"}))
    text = forms.CharField(label="转办说明", max_length=4000, widget=TEXT_WIDGET)
    deadline = forms.DateField(label="新的整改时限（不填沿用原时限）", required=False, widget=DateInput())
    workdays = forms.IntegerField(label="或工作日天数", required=False, min_value=1, max_value=250)
    version = VersionField()

    def __init__(self, *args, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_org"].queryset = orgs


class DeadlineForm(ChineseFormMixin, forms.Form):
    deadline = forms.DateField(label="新的整改时限", required=False, widget=DateInput())
    workdays = forms.IntegerField(label="或自交办之日起的工作日天数", required=False, min_value=1, max_value=250)
    text = forms.CharField(label="调整原因", max_length=4000, widget=TEXT_WIDGET)
    version = VersionField()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("deadline") is None and data.get("workdays") is None:
            self.add_error("deadline", "新的整改时限：请填写日期或工作日天数")
        return data
