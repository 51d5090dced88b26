"""API conventions shared by every app: Chinese error bodies, scoped viewsets, pagination.

Error bodies are DRF's: {"detail": "…"} for request-level errors and
{field: ["…"]} for bad input, where every message is Chinese and names the field.
"""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, viewsets
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from dangjian.core.scoping import can

NOT_FOUND = "未找到，或不在您的权限范围内"


def _is_default(exc) -> bool:
    """True when the exception carries DRF's stock message (raised without a detail)."""
    return str(exc.detail) == str(exc.default_detail)


def exception_handler(exc, context):
    """DRF's handler, with its generic and untranslated messages replaced by Chinese ones.
    Messages the code raises on purpose (already Chinese) are kept."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied("您没有执行此操作的权限")
    elif isinstance(exc, exceptions.NotAuthenticated):
        exc = exceptions.NotAuthenticated("需要登录或提供有效的令牌（Authorization: Token …）")
    elif isinstance(exc, exceptions.AuthenticationFailed):
        exc = exceptions.AuthenticationFailed("令牌无效或账号已停用")
    elif isinstance(exc, exceptions.PermissionDenied) and _is_default(exc):
        exc = exceptions.PermissionDenied("您没有执行此操作的权限")
    elif isinstance(exc, exceptions.ParseError):
        # The JSON parser's message is English and not translatable; say what is wrong.
        exc = exceptions.ParseError("请求内容无法解析：请提交有效的 JSON（UTF-8 编码）")
    elif isinstance(exc, exceptions.NotFound) and _is_default(exc):
        exc = exceptions.NotFound(NOT_FOUND)
    return drf_exception_handler(exc, context)


def forbidden(what: str = "此操作"):
    return exceptions.PermissionDenied(f"您没有{what}的权限")


def require(user, capability: str, path: str, what: str = "此操作") -> None:
    """403 when the user may see an object but not do `capability` on it. Callers look the
    object up in the visible queryset first, so an invisible object has already been 404."""
    if not can(user, capability, path):
        raise forbidden(what)


class ScopedViewSetMixin:
    """Every API queryset passes through visible_to(); objects outside scope are 404."""

    capability = "view"

    def get_queryset(self):
        return self.base_queryset().visible_to(self.request.user, self.capability)

    def base_queryset(self):
        raise NotImplementedError


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class Pagination(PageNumberPagination):
    """50 a page; clients may ask for up to 500 with ?page_size=."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_page_message = "页码无效"


class ChineseSerializerMixin:
    """Field errors that name the field: "请填写姓名", "入党日期不是有效的日期…".

    The same wording as core.forms.ChineseFormMixin, so the web forms and the API speak
    alike. Any other message (DRF's own, already translated) gets the label in front."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            label = str(field.label or "")
            if not label or field.read_only:
                continue
            m = field.error_messages
            m["required"] = f"请填写{label}"
            m["null"] = f"{label}不能为空"
            m["blank"] = f"请填写{label}"
            if isinstance(field, serializers.DateField):
                m["invalid"] = f"{label}不是有效的日期（格式：2024-01-31）"
                m["datetime"] = f"{label}应为日期，不含时间"
            elif isinstance(field, serializers.ChoiceField):
                choices = "、".join(str(k) for k in field.choices)
                m["invalid_choice"] = f"{label}不在可选范围内（可选：{choices}）"
            elif isinstance(field, serializers.BooleanField):
                m["invalid"] = f"{label}应为 true 或 false"
            elif isinstance(field, serializers.IntegerField):
                m["invalid"] = f"{label}应为整数"
            elif isinstance(field, serializers.CharField):
                m["invalid"] = f"{label}应为文字"
                if field.max_length:
                    m["max_length"] = f"{label}过长（最多{field.max_length}个字）"
            elif isinstance(field, serializers.SlugRelatedField):
                m["does_not_exist"] = f"{label}“{{value}}”不存在，或不在您的权限范围内"
                m["invalid"] = f"{label}应为组织代码"
        return fields

    def run_validation(self, data=empty):
        if data is not empty and data is not None and not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["请求内容应为 JSON 对象（{\"字段\": 值}）"]})
        try:
            return super().run_validation(data)
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError(self._labelled(exc.detail)) from None

    def _labelled(self, detail):
        if not isinstance(detail, dict):
            return detail
        out = {}
        for name, messages in detail.items():
            field = self.fields.get(name)
            label = str(field.label) if field is not None and field.label else ""
            if not isinstance(messages, list):
                out[name] = messages
                continue
            out[name] = [
                m if not label or not isinstance(m, str) or label in m else ErrorDetail(f"{label}：{m}", getattr(m, "code", None))
                for m in messages
            ]
        return out


def field_errors(problems) -> exceptions.ValidationError:
    """[(field, message), …] from a checker → {field: [message, …]}."""
    detail: dict[str, list[str]] = {}
    for field, message in problems:
        detail.setdefault(field, []).append(message)
    return exceptions.ValidationError(detail)
