"""A password must not be the person: their username, their name, or its pinyin (李明 →
liming), which Django's attribute check does not know (the name lives on the member)."""
from django.core.exceptions import ValidationError

from dangjian.core.people import display_name
from dangjian.core.text import pinyin_full

MIN_PART = 3  # shorter parts (a two-letter surname) would refuse too much


class NotThePersonValidator:
    def _parts(self, user) -> set[str]:
        name = display_name(user) if getattr(user, "pk", None) else ""
        name = name or f"{getattr(user, 'last_name', '')}{getattr(user, 'first_name', '')}"
        parts = {getattr(user, "username", "") or "", name, pinyin_full(name) if name else ""}
        return {p.lower() for p in parts if len(p) >= MIN_PART or (p and not p.isascii() and len(p) >= 2)}

    def validate(self, password, user=None):
        if user is None:
            return
        lowered = password.lower()
        for part in self._parts(user):
            if part in lowered:
                raise ValidationError("密码不能包含用户名、姓名或姓名的拼音。", code="password_is_the_person")

    def get_help_text(self):
        return "密码不能包含用户名、姓名或姓名的拼音。"
