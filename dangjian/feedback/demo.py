"""The demo city's 三访三评 of the last year, made through the services from the city as it is:
each of up to thirty branches organizes a visit most months, with members on its roll that day,
the households and people visited, and the issues raised (each a feedback); members send
suggestions and anyone sends complaints, some anonymously. The working committee and the
branches answer most within the working days, some late; some are turned into rectification
items; the newest and a few older ones are left unanswered (overdue). Nothing is canned: with
another city the visits, names and counts are others."""
from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q

from dangjian.accounts.models import RoleAssignment, User
from dangjian.core import workdays
from dangjian.members.models import Member, Membership
from dangjian.orgs.models import Organization, OrgKind

from . import services
from .models import Channel, Feedback, VisitKind

BRANCHES_AT_MOST = 30
PLACES = ("幸福社区", "东城街道便民服务中心", "阳光小区", "城南工业园", "老旧小区改造片区", "新华路商户", "结对帮扶村",
          "政务服务大厅", "滨江社区", "开发区企业服务站")
ISSUES = ("小区路灯损坏，晚上出行不便，希望尽快维修。", "菜市场周边停车难，希望协调增设临时车位。",
          "老年人办理社保认证不方便，希望提供上门服务。", "企业反映审批材料要求重复提交，希望精简。",
          "楼道堆放杂物存在消防隐患，希望督促清理。", "希望社区增设便民服务点，方便缴费和咨询。",
          "雨季积水严重，希望疏通排水管道。", "企业用工招聘信息渠道少，希望搭建对接平台。",
          "困难家庭子女上学交通不便，希望协调解决。", "希望开通政策咨询热线，及时解答群众疑问。")
SUGGESTIONS = ("建议把学习资料整理后放到平台上，方便随时查阅。", "建议主题党日多结合业务工作开展，避免走形式。",
               "建议支部谈心谈话安排在工作日午间，减少加班。", "建议减少重复报送的表格，同样的数据只报一次。")
COMPLAINTS = ("窗口工作人员态度生硬，办事需要反复跑，希望整改作风。", "某支部组织生活长期只念文件，党员参与度不高。",
              "单位食堂价格上涨未作说明，希望公开成本。", "有的科室文件流转慢，群众诉求迟迟得不到回复。",
              "希望通报上次投诉的处理结果，做到事事有回应。")
ANSWERS = ("已协调有关部门，本月内完成整改，感谢您的意见。", "经核实情况属实，已责成相关科室限期改进，并将在支部会议上通报。",
           "已纳入下一阶段工作计划，将在季度内落实并反馈。", "已与相关单位沟通，暂不具备条件，已向您说明原因和替代办法。")


def _staff():
    row = (RoleAssignment.objects.filter(role="wc_admin", org__parent__isnull=True)
           .select_related("user").order_by("id").first())
    return row.user if row else None


def _known(day: dt.date) -> bool:
    try:
        workdays.add(day, services.answer_workdays())
    except workdays.WorkdayError:
        return False
    return True


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed)
    staff = _staff()
    wc = Organization.objects.filter(kind=OrgKind.WORKING_COMMITTEE, parent__isnull=True).order_by("path").first()
    if staff is None or wc is None:
        return {"visits": 0, "feedback": 0, "message": "没有机关工委或工委账号，未生成走访和意见建议"}
    first_day = today - dt.timedelta(days=364)
    branches = list(Organization.objects.active().filter(kind=OrgKind.BRANCH).order_by("path"))
    branches = sorted(rng.sample(branches, min(BRANCHES_AT_MOST, len(branches))), key=lambda o: o.path)
    # Who is on each branch's roll, and since when: one query.
    rolls: dict[int, list[tuple[Member, dt.date]]] = {}
    for m in (Membership.objects.filter(org__in=branches, ended_on__isnull=True, member__status=Member.Status.ACTIVE)
              .select_related("member").order_by("org_id", "member_id")):
        rolls.setdefault(m.org_id, []).append((m.member, m.started_on))
    visits = 0
    for branch in branches:
        roll = rolls.get(branch.pk, [])
        for month in range(12):
            if not roll or rng.random() < 0.3:
                continue
            day = first_day + dt.timedelta(days=month * 30 + rng.randint(0, 27))
            if day > today or not _known(day):
                continue
            present = [m for m, since in roll if since <= day]
            if not present:
                continue
            who = rng.sample(present, rng.randint(1, min(6, len(present))))
            issues = rng.sample(ISSUES, rng.choice((0, 0, 1, 1, 2)))
            services.record_visit(None, org=branch, visited_on=day, kind=rng.choice(VisitKind.values),
                                  place=rng.choice(PLACES), households=rng.randint(0, 12), people=rng.randint(1, 30),
                                  participants=who, issues=issues, today=today)
            visits += 1
    # Members' suggestions (by members with an account) and complaints, a third anonymous.
    members = list(User.objects.filter(member__isnull=False, member__org__in=branches)
                   .select_related("member__org").order_by("id")[:40])
    sent = 0
    for _ in range(min(60, 4 * len(branches))):
        day = first_day + dt.timedelta(days=rng.randint(0, 364))
        if not _known(day):
            continue
        user = rng.choice(members) if members else None
        if user is not None and rng.random() < 0.4:
            services.submit(user, channel=Channel.MEMBER, org=user.member.org, text=rng.choice(SUGGESTIONS),
                            received_on=day, today=today)
        else:
            anonymous = user is None or rng.random() < 0.35
            org = rng.choice([wc, user.member.org] if user is not None else [wc])
            services.submit(None if anonymous else user, channel=Channel.COMPLAINT, org=org,
                            text=rng.choice(COMPLAINTS), anonymous=anonymous, received_on=day, today=today)
        sent += 1
    # Handling: most answered (a few late), some turned into items, the rest left pending.
    answered = items = 0
    for fb in Feedback.objects.filter(received_on__gte=first_day).select_related("org").order_by("received_on", "id"):
        roll = rng.random()
        if fb.deadline >= today and roll < 0.5:
            continue  # still within its time
        late = rng.random() < 0.15
        on = fb.deadline + dt.timedelta(days=rng.randint(1, 10)) if late else \
            fb.received_on + dt.timedelta(days=rng.randint(0, max(0, (fb.deadline - fb.received_on).days)))
        on = min(on, today)
        if roll < 0.62:
            services.answer(staff, fb, text=rng.choice(ANSWERS), today=on)
            answered += 1
        elif roll < 0.8 and _known(on + dt.timedelta(days=40)):
            services.turn_into_item(staff, fb, list=rng.choice(("problem", "task", "suggestion")), workdays=20,
                                    today=on)
            items += 1
    overdue = Feedback.objects.filter(Q(status=Feedback.Status.PENDING) & Q(deadline__lt=today)).count()
    return {"visits": visits, "feedback": Feedback.objects.count(), "sent": sent, "answered": answered,
            "items": items, "overdue": overdue, "message": ""}
