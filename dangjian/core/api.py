"""API conventions shared by every app: Chinese error bodies, scoped viewsets, pagination.

Every error answer has the same shape, whatever its status:

    {"detail": "一句中文说明"}                                    401, 403, 404, 405, 409, 415 …
    {"detail": "一句中文说明", "errors": {"字段": ["中文", …]}}   400 (bad input)

`errors` is keyed by the API field name (e.g. "id_number", "org"); every message names the
field in Chinese ("身份证号校验码不正确，请核对"). Problems not tied to one field are under
"non_field_errors". `detail` of a 400 repeats the first message, so a client that shows only
`detail` still tells the user what to fix.

Scoping: viewsets look objects up in `Model.objects.visible_to(user)`, so anything outside
the user's scope is 404 (never a 403 that would reveal it exists); an object the user may see
but not change is 403 (see `require`).
"""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, OperationalError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from dangjian.core.forms import UnsafeCharacters
from dangjian.core.scoping import can, get_visible_or_404
from dangjian.core.versioning import CONFLICT, StaleVersion, is_conflict, parse_version
from dangjian.core.views import COUNT_LIMIT, BoundedPaginator

NOT_FOUND = "未找到，或不在您的权限范围内"


def version_of(request) -> int | None:
    """The version the client read: `version` in the body, else the If-Match header; None
    when it sends neither (the last writer wins). A malformed one is a 400."""
    raw = request.data.get("version") if isinstance(request.data, dict) else None
    if raw is None:
        raw = request.headers.get("If-Match")
    try:
        return parse_version(raw)
    except ValueError:
        raise exceptions.ValidationError({"version": ["版本号应为正整数（读取记录时得到的 version）"]}) from None
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def _is_default(exc) -> bool:
    """True when the exception carries DRF's stock message (raised without a detail)."""
    return str(exc.detail) == str(exc.default_detail)


def _as_field_dict(detail) -> dict:
    """A ValidationError's detail in the one shape: {field: [message, …]}."""
    if isinstance(detail, dict):
        return {
            name: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for name, messages in detail.items()
        }
    if isinstance(detail, list):
        return {NON_FIELD: [str(m) for m in detail]}
    return {NON_FIELD: [str(detail)]}


def _first_message(errors: dict) -> str:
    messages = [m for ms in errors.values() for m in ms if isinstance(m, str)]
    if not messages:
        return "提交的内容有误"
    more = len(messages) - 1
    return messages[0] + (f"（另有{more}处错误）" if more else "")


def exception_handler(exc, context):
    """DRF's handler, with its generic and untranslated messages replaced by Chinese ones,
    and bad input answered as {"detail", "errors"}. Messages the code raises on purpose
    (already Chinese) are kept. Rule violations that only the database noticed (a duplicate
    inserted at the same moment by someone else) become 409 instead of a server error."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied("您没有执行此操作的权限")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        )
    elif isinstance(exc, StaleVersion):
        # The one shape, plus the version now stored, so the client can reload and retry.
        return Response({"detail": exc.message, "version": exc.current}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, OperationalError) and is_conflict(exc):
        return Response({"detail": CONFLICT}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, IntegrityError):
        detail = "与已有记录冲突（例如代码或身份证号重复），请核对后重试"
        return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        original = exc
        if isinstance(exc, exceptions.NotAuthenticated):
            exc = exceptions.NotAuthenticated("需要登录或提供有效的令牌（Authorization: Token …）")
        else:
            exc = exceptions.AuthenticationFailed("令牌无效或账号已停用")
        # The view decided 401 (with WWW-Authenticate) or 403 on the original.
        exc.status_code = original.status_code
        exc.auth_header = getattr(original, "auth_header", None)
    elif isinstance(exc, exceptions.PermissionDenied) and _is_default(exc):
        exc = exceptions.PermissionDenied("您没有执行此操作的权限")
    elif isinstance(exc, exceptions.ParseError):
        # The JSON parser's message is English and not translatable; say what is wrong.
        exc = exceptions.ParseError("请求内容无法解析：请提交有效的 JSON（UTF-8 编码）")
    elif isinstance(exc, exceptions.NotFound) and _is_default(exc):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, exceptions.MethodNotAllowed):
        exc = exceptions.MethodNotAllowed(context["request"].method, f"不支持 {context['request'].method} 请求")
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.UnsupportedMediaType(
            getattr(context["request"], "content_type", ""), "不支持的请求内容类型，请以 application/json 提交"
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = _as_field_dict(exc.detail)
        response.data = {"detail": _first_message(errors), "errors": errors}
    elif response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = {"detail": str(exc.detail), "errors": {NON_FIELD: [str(exc.detail)]}}
    return response


def forbidden(what: str = "此操作"):
    return exceptions.PermissionDenied(f"您没有{what}的权限")


def require(user, capability: str, path: str, what: str = "此操作") -> None:
    """403 when the user may see an object but not do `capability` on it. Callers look the
    object up in the visible queryset first, so an invisible object has already been 404."""
    if not can(user, capability, path):
        raise forbidden(what)


def field_errors(problems) -> exceptions.ValidationError:
    """[(field, message), …] from a checker → {field: [message, …]}."""
    detail: dict[str, list[str]] = {}
    for field, message in problems:
        detail.setdefault(field, []).append(message)
    return exceptions.ValidationError(detail)


class ScopedViewSetMixin:
    """Every API queryset passes through visible_to(); objects outside scope are 404.
    Write actions look the object up here too (capability "view") and then `require` the
    capability they need, so an in-scope object without the right answers 403."""

    capability = "view"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return self.base_queryset().visible_to(self.request.user, self.capability)

    def get_object(self):
        obj = get_visible_or_404(self.base_queryset(), self.request.user, self.kwargs[self.lookup_field],
                                 self.capability)
        self.check_object_permissions(self.request, obj)
        return obj

    def base_queryset(self):
        raise NotImplementedError


class Pagination(PageNumberPagination):
    """50 a page; clients may ask for up to 500 with ?page_size=. `count` is exact up to
    core.views.COUNT_LIMIT rows; past it `count` is that limit, `count_capped` is true, and
    the pages go that far (an exact count of a million rows costs more than the page)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_page_message = "页码无效"
    django_paginator_class = BoundedPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.capped
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_capped"] = {
            "type": "boolean", "description": f"为 true 时符合条件的记录超过 {COUNT_LIMIT} 条，count 只计到此数"}
        return answer


class LabelField(serializers.CharField):
    """A coded value's Chinese label from the model's `get_<field>_display`, answered and
    documented as the CharField it replaces. It calls the method itself: DRF reads the
    signature of a callable source (inspect.signature) for every record, and five labels a
    member were a fifth of the member list's time."""

    def get_attribute(self, instance):
        return getattr(instance, self.source)()


class CodeOrLabelChoiceField(serializers.ChoiceField):
    """A coded value given either as its code ("probationary") or its Chinese label
    ("预备党员"); always stored and answered as the code."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip()
            by_label = {str(label): code for code, label in self.choices.items()}
            data = by_label.get(data, data)
        return super().to_internal_value(data)


def _strict_text(field, label: str) -> None:
    """DRF takes 123 or true for a text field and stores "123" / "True"; refuse them, and
    characters no database column can hold, with a message naming the field."""
    original = field.to_internal_value

    def to_internal_value(data):
        if not isinstance(data, str):
            field.fail("invalid")
        if "\x00" in data or any("\ud800" <= ch <= "\udfff" for ch in data):
            raise exceptions.ValidationError(f"{label}含有无效字符")
        return original(data)

    field.to_internal_value = to_internal_value
    if field.max_length:
        # The length validator was built with DRF's wording before the label was known.
        field.validators = [
            MaxLengthValidator(field.max_length, message=f"{label}过长（最多{field.max_length}个字）")
            if isinstance(v, MaxLengthValidator) else v
            for v in field.validators
        ]


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
            elif isinstance(field, CodeOrLabelChoiceField):
                choices = "、".join(f"{label_}（{code}）" for code, label_ in field.choices.items())
                m["invalid_choice"] = f"{label}不在可选范围内（可选：{choices}）"
            elif isinstance(field, serializers.ChoiceField):
                choices = "、".join(str(k) for k in field.choices)
                m["invalid_choice"] = f"{label}不在可选范围内（可选：{choices}）"
            elif isinstance(field, serializers.BooleanField):
                m["invalid"] = f"{label}应为 true 或 false"
            elif isinstance(field, serializers.IntegerField):
                m["invalid"] = f"{label}应为整数"
            elif isinstance(field, serializers.CharField):
                m["invalid"] = f"{label}应为文字"
                # The same check as every web form's: a text (a TextField, or a long one) keeps
                # its line breaks; a name or a short text is one line.
                multiline = (field.style.get("base_template") == "textarea.html"
                             or field.max_length is None or field.max_length > 500)
                if not field.style.get("input_type") == "password":
                    field.validators.append(UnsafeCharacters(label, multiline=multiline))
                _strict_text(field, label)
            elif isinstance(field, serializers.SlugRelatedField):
                m["does_not_exist"] = f"{label}“{{value}}”不存在，或不在您的管理范围内"
                m["invalid"] = f"{label}应为组织代码（文字）"
        return fields

    def run_validation(self, data=empty):
        if data is None:
            raise exceptions.ValidationError({NON_FIELD: ["请求内容为空：请提交 JSON 对象（{\"字段\": 值}）"]})
        if data is not empty and not isinstance(data, dict):
            raise exceptions.ValidationError({NON_FIELD: ["请求内容应为 JSON 对象（{\"字段\": 值}）"]})
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
                m if not label or not isinstance(m, str) or label in m
                else ErrorDetail(f"{label}：{m}", getattr(m, "code", None))
                for m in messages
            ]
        return out


# The error body, for the OpenAPI schema.
ErrorSerializer = inline_serializer(
    "Error",
    fields={
        "detail": serializers.CharField(help_text="中文说明"),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="仅 400：按字段列出的中文错误；与单个字段无关的在 non_field_errors 下",
        ),
        "version": serializers.IntegerField(required=False, allow_null=True, help_text="仅 409：记录的当前版本"),
    },
)


# A list answers 404 for a page past its last one (DRF's paginator): documented, so a client
# reading the schema knows to stop there.
PAGE_NOT_FOUND = "页码超出范围（page 大于总页数）"


def error_responses(*codes: int, not_found: str = "不存在，或不在权限范围内") -> dict:
    """Schema entries for the error statuses an operation can answer."""
    text = {
        400: "输入有误（errors 按字段列出原因）",
        401: "未登录或令牌无效",
        403: "可以查看但无权执行此操作",
        404: not_found,
        409: "提交的版本已过期：记录在读取后已被他人修改（version 为当前版本），或他人正同时修改",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=text.get(code, "")) for code in codes}
