"""What an indicator may not be based on (减负: `burden_reduction` in rules/defaults.yaml).

A manual indicator is free text, so its name, category and scoring standard are read for the
forbidden bases; an automatic one can only be a registered metric, and no registered metric
counts any of them (tests check this too)."""
from __future__ import annotations

from dangjian.core import defaults

# The words by which an indicator reveals each forbidden basis, per the keys of
# `burden_reduction.forbidden_indicator_bases` and the forbidden features that a score could
# reintroduce (a ranking of people, clock-ins, installation rates).
BASIS_WORDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "likes": ("点赞数", ("点赞",)),
    "shares": ("转发分享数", ("转发", "分享量", "分享数", "分享次数")),
    "online_votes": ("网络投票", ("网络投票", "在线投票", "网上投票", "投票数")),
    "study_duration": ("学习时长", ("学习时长", "学习时间", "学时", "学习积分")),
    "online_time": ("在线时长", ("在线时长", "在线时间", "登录次数", "登录天数", "登录率", "活跃度", "日活")),
    "photo_count": ("照片数量", ("照片", "图片数", "截图", "拍照", "留痕")),
    "more_meetings_or_documents_scored_higher": (
        "会议、文件越多得分越高",
        ("会议次数", "开会次数", "会议数量", "发文数", "发文量", "材料数量", "文件数量", "简报数量", "信息报送数量"),
    ),
    "study_notes": ("学习笔记", ("学习笔记", "笔记")),
    "points_ranking_of_people": ("党员个人积分排名", ("积分排名", "个人排名", "党员排名", "党员积分")),
    "forced_check_in": ("强制打卡签到", ("打卡", "签到率")),
    "install_rate_assessment": ("应用安装率", ("安装率", "下载量", "注册率", "关注率")),
}


def forbidden_basis(*texts: str) -> tuple[str, str] | None:
    """(basis key, the word found) if the texts name a forbidden basis, else None."""
    joined = " ".join(t for t in texts if t)
    section = defaults.section("burden_reduction")
    listed = set(section.get("forbidden_indicator_bases") or ()) | set(section.get("forbidden_features") or ())
    for basis, (_, words) in BASIS_WORDS.items():
        if basis not in listed:
            continue
        for word in words:
            if word in joined:
                return basis, word
    return None


def forbidden_message(name: str, basis: str, word: str) -> str:
    section = defaults.section("burden_reduction")
    label = BASIS_WORDS[basis][0]
    return (f"指标“{name}”含“{word}”，属于以{label}计分，为基层减负的规定禁止以此考核"
            f"（依据：{section.get('sources', '')}）。"
            "请改为考核工作实效，例如组织生活按规定落实率、问题整改完成情况")
