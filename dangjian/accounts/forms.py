import math

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils import timezone

from . import services
from .models import User

GENERIC_FAILURE = "用户名或密码不正确。"


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": GENERIC_FAILURE,
        "inactive": GENERIC_FAILURE,
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "用户名"
        self.fields["password"].label = "密码"
        self.fields["username"].error_messages["required"] = "请填写用户名"
        self.fields["password"].error_messages["required"] = "请填写密码"
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            locked = User.objects.filter(username=username, is_active=True).only("locked_until").first()
            if locked is not None and services.is_locked(locked):
                until = timezone.localtime(locked.locked_until)
                minutes = max(1, math.ceil((locked.locked_until - timezone.now()).total_seconds() / 60))
                raise forms.ValidationError(
                    f"登录失败次数过多，账号已锁定 {minutes} 分钟，请于 {until:%Y-%m-%d %H:%M} 后再试。",
                    code="locked",
                )
            raise forms.ValidationError(GENERIC_FAILURE, code="invalid_login")
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ChangePasswordForm(PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {"old_password": "原密码", "new_password1": "新密码", "new_password2": "确认新密码"}
        for name, label in labels.items():
            self.fields[name].label = label
            self.fields[name].error_messages["required"] = f"请填写{label}"
            self.fields[name].widget.attrs.setdefault("class", "form-control")
        self.error_messages = {
            **self.error_messages,
            "password_incorrect": "原密码不正确，请重新输入。",
            "password_mismatch": "两次输入的新密码不一致。",
        }

    def validate_password_for_user(self, user, password_field_name="new_password1"):
        """The password rules judge the new password, so their messages stand under 新密码 (where
        the rules are listed), not under 确认新密码 as Django places them."""
        super().validate_password_for_user(user, "new_password1")
