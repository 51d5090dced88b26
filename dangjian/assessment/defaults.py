"""The indicators a new scheme starts with, per level (the editor shows them for a scheme that
has none yet, and the demo city uses them).

The quarterly 分级量化考核 grades how each organization carries out its 党建责任 (seed 000/001:
"每季度对党建责任落实情况进行分级量化考核"), so duty completion (`duty_completion`: the items of
the duty lists that fell due and were done, generated from the organizational-life records or
marked done) weighs most; organizational life held as required is one part of it, not the
whole. Attendance and organizational structure follow; for the departments, the assessors'
score of how party work drives the department's own work."""
from .models import Level

UNIT = [
    dict(category="党建责任落实", name="党建工作责任清单按期完成", weight=40, method="metric", metric="duty_completion",
         note="责任清单中考核期内到期的事项完成情况（组织生活记录自动生成或标记完成），按事项统计，不对个人评分"),
    dict(category="党建责任落实", name="组织生活按规定落实", weight=20, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="党员参加组织生活", weight=10, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="组织设置和按期换届", weight=15, method="metric", metric="alerts_clear"),
    dict(category="党建与业务融合", name="党建工作与业务工作融合", weight=15, method="manual", max_score=10,
         note="查阅资料、听取汇报，看党建工作推动中心工作的实际成效"),
]
BRANCH = [
    dict(category="党建责任落实", name="支部书记责任清单按期完成", weight=40, method="metric", metric="duty_completion",
         note="责任清单中考核期内到期的事项完成情况，按事项统计，不对个人评分"),
    dict(category="党建责任落实", name="三会一课按规定落实", weight=35, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="党员到会", weight=15, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="班子健全、按期换届", weight=10, method="metric", metric="alerts_clear"),
]


def indicators_for(level: str) -> list[dict]:
    """A copy of the default indicators of a level (the caller may change them)."""
    return [dict(spec) for spec in (UNIT if level == Level.UNIT else BRANCH)]
