"""The one way a form asks for an organization: a text box that finds orgs as the user types
(orgs:lookup, by code, name, pinyin or initials), never a select listing every org.

`OrgField` is a ModelChoiceField over a queryset the view scopes (`visible_to`); it submits the
org's code (`to_field_name="code"`) or its id. A value outside that queryset — another
department's org, a typo, a dissolved org where only active ones count — is refused with the
same Chinese message, so the form never tells whether such an org exists. The widget renders
no option per org: when the form comes back with errors it names the chosen org again, looked
up in the field's own queryset (one query), and the script static/js/org-autocomplete.js
(loaded by base.html) does the rest.
"""
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from .models import Organization

SCOPE_WORDS = {"view": "查看", "edit": "管理", "import": "管理", "manage": "管理", "inspect": "管理"}


class OrgAutocomplete(forms.Widget):
    template_name = "orgs/widgets/org_autocomplete.html"

    def __init__(self, attrs=None, *, capability="view", kinds=(), dissolved=False, by="code"):
        super().__init__(attrs)
        self.capability, self.kinds, self.dissolved, self.by = capability, tuple(kinds), dissolved, by
        self.choices = None  # ModelChoiceField puts its ModelChoiceIterator here

    def lookup_url(self) -> str:
        params = [("capability", self.capability)] + [("kind", k) for k in self.kinds]
        if self.dissolved:
            params.append(("dissolved", "1"))
        if self.by == "pk":
            params.append(("by", "pk"))
        return reverse("orgs:lookup") + "?" + urlencode(params)

    def chosen(self, value) -> Organization | None:
        """The org `value` names, if the field's queryset holds it (never one outside it).
        One query, remembered for the value (a form's widget is its own copy)."""
        if value in (None, "") or self.choices is None:
            return None
        value = str(value).strip()
        cached = getattr(self, "_chosen", None)
        if cached is not None and cached[0] is self.choices and cached[1] == value:
            return cached[2]
        org = None
        if self.by != "pk" or value.isdigit():
            org = self.choices.queryset.filter(**{self.by: value}).first()
        self._chosen = (self.choices, value, org)  # a new queryset brings new choices: no stale answer
        return org

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        copied.__dict__.pop("_chosen", None)
        return copied

    def format_value(self, value):
        return "" if value is None else str(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        org = self.chosen(context["widget"]["value"])
        w = context["widget"]
        w["lookup_url"] = self.lookup_url()
        w["list_id"] = f"{w['attrs'].get('id') or name}-matches"
        if org is not None:
            w["label"] = f"{org.name}（{org.code}）"
        elif self.by == "pk":
            w["value"], w["label"] = "", ""  # an id names nothing to show: start again
        else:
            w["label"] = w["value"]  # the code as given, refused by the field's message
        w["attrs"].setdefault("placeholder", "输入名称、代码或拼音首字母")
        return context


class OrgField(forms.ModelChoiceField):
    """An organization from `queryset` (scoped by the view), typed into an OrgAutocomplete.
    `capability`, `kinds` and `dissolved` tell the lookup which orgs to offer; the queryset
    must hold at least those, so whatever is offered validates. It may hold more (dissolved
    orgs, other kinds) when the form or the service should say why such an org is refused."""

    widget = OrgAutocomplete

    def __init__(self, queryset=None, *, capability="view", kinds=(), dissolved=False, to_field_name=None,
                 **kwargs):
        queryset = queryset if queryset is not None else Organization.objects.none()
        super().__init__(queryset, to_field_name=to_field_name, empty_label=None, **kwargs)
        self.widget.capability, self.widget.kinds, self.widget.dissolved = capability, tuple(kinds), dissolved
        self.widget.by = to_field_name or "pk"
        self.scope_word = SCOPE_WORDS.get(capability, "管理")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Organization):
            value = getattr(value, self.to_field_name or "pk")
        try:
            return super().to_python(str(value).strip())
        except ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
            raise ValidationError(self.not_found(value), code="not_found") from None

    def not_found(self, value) -> str:
        """The one answer for an unknown org and for one outside the scope alike."""
        shown = str(value).strip()[:32] if self.to_field_name == "code" else ""
        what = f"组织代码“{shown}”" if shown else "所选组织"
        return f"未找到{what}，或不在您的{self.scope_word}范围内"


class OrgFilterForm(forms.Form):
    """The org filter of a list page (?org=CODE, that org and its subtree): the autocomplete,
    small and optional, over `queryset` (the orgs the user can see). The page keeps applying
    the code itself; the form names the chosen org and says when the code finds none."""

    org = OrgField(label="组织", required=False, to_field_name="code",
                   widget=OrgAutocomplete(attrs={"class": "form-control form-control-sm"}))

    def __init__(self, data, queryset, *, auto_id="id_%s", kinds=(),
                 placeholder="全部（可输入名称、代码或拼音首字母）"):
        # Unbound, with the code as its initial value: drawing it validates nothing, and the
        # widget's one look-up both names the org and tells `problem` whether it was found.
        self.code = (data.get("org") or "").strip()
        super().__init__(initial={"org": self.code}, auto_id=auto_id)
        field = self.fields["org"]
        field.queryset = queryset
        field.widget.kinds = tuple(kinds)
        field.widget.attrs["placeholder"] = placeholder

    def problem(self) -> str:
        """Why the org asked for shows nothing ("" when it is fine or none was asked for); the
        widget's own look-up answers it, so naming the org and checking it is one query."""
        field = self.fields["org"]
        if not self.code or field.widget.chosen(self.code) is not None:
            return ""
        return field.not_found(self.code)
