import math

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils import timezone

from dangjian.core.forms import ChineseFormMixin
from dangjian.orgs.fields import OrgField

from . import services
from .models import Role, User

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
            lock = services.active_lock(username, services.client_address(self.request))
            # An address lock is said for any username; a username's lock only for an account
            # that exists (unknown names are never locked, so this reveals nothing more).
            if lock is not None and (not lock.username or User.objects.filter(username=username, is_active=True).exists()):
                until = timezone.localtime(lock.locked_until)
                minutes = max(1, math.ceil((lock.locked_until - timezone.now()).total_seconds() / 60))
                who = "账号" if lock.username else "本机地址"
                raise forms.ValidationError(
                    f"登录失败次数过多，{who}已锁定 {minutes} 分钟，请于 {until:%Y-%m-%d %H:%M} 后再试。"
                    "如需提前解除，请联系机关工委。",
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


class GrantRoleForm(ChineseFormMixin, forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    org = OrgField(label="范围（含下级）", capability="manage", help_text="角色对该组织及其全部下级组织有效")

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["username"].error_messages["required"] = "请填写用户名"
        self.fields["role"].error_messages["invalid_choice"] = "请选择列出的角色"

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"用户“{username}”不存在")
        self.user = user
        return username
