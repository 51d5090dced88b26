"""Test data built through the same services the platform uses (no hand-written fixtures)."""
import datetime as dt
import itertools

from dangjian.accounts.models import RoleAssignment, User
from dangjian.core import idcard
from dangjian.members import services as member_services
from dangjian.orgs import services as org_services

_seq = itertools.count(1)


def org(parent=None, kind="branch", name=None, code=None, unit=None, **extra):
    n = next(_seq)
    return org_services.create_org(
        None,
        code=code or f"T{n:05d}",
        name=name or f"测试组织{n}",
        kind=kind,
        parent=parent,
        unit=unit or org_services.unit_named(f"测试单位{n}" if parent is None else (parent.unit.name if parent.unit else "测试单位")),
        established_on=dt.date(2015, 1, 1),
        **extra,
    )


def id_number(birth=dt.date(1985, 6, 1), seq=None) -> str:
    return idcard.make("110101", birth, (seq if seq is not None else next(_seq)) % 1000)


def member(org, name="张三", birth=dt.date(1985, 6, 1), gender="male", **extra):
    n = next(_seq)
    # The 17th digit carries the gender (odd = male): keep the number consistent with it.
    sequence = (n % 500) * 2 + (1 if gender == "male" else 0)
    fields = dict(
        name=name,
        gender=gender,
        ethnicity="汉族",
        birth_date=birth,
        id_number=idcard.make(f"{110101 + n // 500}", birth, sequence),
        education="bachelor",
        phone=f"138{n:08d}",
        org=org,
        category="full",
        joined_on=dt.date(2010, 7, 1),
        confirmed_on=dt.date(2011, 7, 1),
        workplace="测试局",
        post="科员",
        rank=20,
    )
    fields.update(extra)
    return member_services.create_member(None, **fields)


def user(role=None, org=None, member=None, username=None, password="Dangjian!2026"):
    n = next(_seq)
    u = User.objects.create_user(username=username or f"user{n}", password=password, member=member)
    if role:
        RoleAssignment.objects.create(user=u, role=role, org=org)
    return u
