"""Form helpers shared by every app: Chinese error messages that name the field."""
from django import forms

from .text import unsafe_characters_problem


class ChineseFormMixin:
    """Replaces Django's generic messages ("这个字段是必填项。") with ones naming the field,
    and adds Bootstrap classes to the widgets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = field.label or ""
            field.error_messages.setdefault("required", f"请填写{label}")
            field.error_messages["required"] = f"请填写{label}"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = f"{label}不是有效的日期（格式：2024-01-31）"
            if isinstance(field, (forms.ChoiceField, forms.ModelChoiceField)):
                field.error_messages["invalid_choice"] = f"{label}不在可选范围内"
            if isinstance(field, forms.CharField) and field.max_length:
                field.error_messages["max_length"] = f"{label}过长（最多{field.max_length}个字）"
            widget = field.widget
            if isinstance(field, forms.CharField) and not isinstance(widget, (forms.PasswordInput, forms.HiddenInput)):
                # Every typed text, in every app's form: no control or direction characters.
                field.validators.append(UnsafeCharacters(label, multiline=isinstance(widget, forms.Textarea)))
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class UnsafeCharacters:
    """A validator for a typed text (form or API field): `core.text.unsafe_characters_problem`
    as a ValidationError. Multi-line texts keep their line breaks and tabs."""

    def __init__(self, label: str, *, multiline: bool = False):
        self.label, self.multiline = label, multiline

    def __call__(self, value):
        from django.core.exceptions import ValidationError

        problem = unsafe_characters_problem(value, self.label or "此项", multiline=self.multiline)
        if problem:
            raise ValidationError(problem, code="unsafe_characters")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class VersionField(forms.IntegerField):
    """The version the form was drawn from (core.versioning), sent back hidden: the service
    refuses the save when someone saved the record since. A form posted without one (an old
    page) is still saved, as the API without a version."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("label", "版本")
        super().__init__(**kwargs)
