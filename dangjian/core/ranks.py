"""职级: the national scale of civil servants' positions and ranks, on one order.

Shared vocabulary, like the ID-number rules in idcard.py: members carry a rank, and the
structure alerts compare a secretary's rank with their branch's members (副科长领导科长).
"""
from django.db import models


class Rank(models.IntegerChoices):
    """职级 on one order. Classic levels and the parallel ranks (职务与职级并行) share a
    level (value // 10); within a level the parallel rank's number is one higher only to
    keep values distinct. Compare ranks with `level()`."""

    CLERK = 10, "办事员"
    SECOND_CLASS_STAFF = 11, "二级科员"
    STAFF = 20, "科员"
    FIRST_CLASS_STAFF = 21, "一级科员"
    DEPUTY_SECTION = 30, "副科级"
    FOURTH_PRINCIPAL_STAFF = 31, "四级主任科员"
    THIRD_PRINCIPAL_STAFF = 41, "三级主任科员"
    SECTION = 50, "正科级"
    SECOND_PRINCIPAL_STAFF = 51, "二级主任科员"
    FIRST_PRINCIPAL_STAFF = 61, "一级主任科员"
    DEPUTY_DIVISION = 70, "副处级"
    FOURTH_RESEARCHER = 71, "四级调研员"
    THIRD_RESEARCHER = 81, "三级调研员"
    DIVISION = 90, "正处级"
    SECOND_RESEARCHER = 91, "二级调研员"
    FIRST_RESEARCHER = 101, "一级调研员"
    DEPUTY_BUREAU = 110, "副厅级"
    SECOND_INSPECTOR = 111, "二级巡视员"
    BUREAU = 120, "正厅级"
    FIRST_INSPECTOR = 121, "一级巡视员"

    @classmethod
    def level(cls, value: int | None) -> int | None:
        return None if value is None else value // 10
