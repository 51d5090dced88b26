"""What a careful clerk checks in a member record. One function, used by the web form,
the API and the roster import, so every door applies the same rules.

Values are already typed (dates are dates); each problem is (field, Chinese message).
"""
import datetime as dt

from dangjian.core import crypto, idcard, periods
from dangjian.core.scoping import can
from dangjian.core.text import unsafe_characters_problem, valid_phone

from .models import Category, Member

# A number held by a member outside the user's view scope: the answer says neither where nor
# whether, only whom to ask — the same words for every clash the user may not look at.
ID_NOT_USABLE = "该身份证号无法使用，请联系机关工委核实"
ID_TAKEN = "该身份证号的党员已存在，请勿重复登记"


def id_number_clash(number: str, user, exclude_pk: int | None = None) -> str | None:
    """Why `number` cannot be given to a (new or other) member, or None when it is free. The
    numbers are unique over the whole roll, but whether one is taken is said plainly only
    when the member holding it is within the user's view scope (None: the command line)."""
    clash = Member.objects.by_id_number(number).select_related("org")
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    holder = clash.first()
    if holder is None:
        return None
    if user is None or can(user, "view", holder.org.path):
        return ID_TAKEN
    return ID_NOT_USABLE

# GB/T 3304: the 56 nationalities, so “汉” typed on a roster is read as 汉族.
ETHNIC_GROUPS = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "满族", "侗族", "瑶族", "白族",
    "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族",
    "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族",
    "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族",
    "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
)
_SHORT_ETHNIC = {name.removesuffix("族"): name for name in ETHNIC_GROUPS}


def normalize_ethnicity(value: str) -> str:
    """“汉” → 汉族 (the nationality written without 族); anything else as typed."""
    value = (value or "").strip()
    return _SHORT_ETHNIC.get(value, value)


TEXT_FIELDS = {"name": "姓名", "ethnicity": "民族", "workplace": "工作单位", "post": "职务"}
MIN_JOIN_AGE = 18  # 党章第一条: 年满十八岁
PROBATION_YEARS = 1
# Records are dated by meeting, not by the calendar: the branch meeting that confirms a
# member may sit a few weeks either side of the anniversary.
PROBATION_SLACK_DAYS = 31


def _years_between(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_member(d: dict, today: dt.date | None = None) -> list[tuple[str, str]]:
    today = today or dt.date.today()
    errors: list[tuple[str, str]] = []
    add = lambda field, msg: errors.append((field, msg))  # noqa: E731

    name = (d.get("name") or "").strip()
    if not name:
        add("name", "姓名不能为空")
    elif len(name) > 50:
        add("name", "姓名过长（最多50个字）")
    # Texts shown on every list and export: no control, direction or zero-width characters.
    for field, label in TEXT_FIELDS.items():
        if problem := unsafe_characters_problem(d.get(field), label):
            add(field, problem)

    number = d.get("id_number")
    valid_number = None
    if number == crypto.UNREADABLE:
        # The kept number cannot be opened with the configured key (docs/operations.md).
        add("id_number", "已存储的身份证号无法解密（密钥不匹配），请重新填写完整的身份证号")
    elif number is not None:
        try:
            valid_number = idcard.validate(number)
        except idcard.IdNumberError as exc:
            add("id_number", str(exc))

    birth = d.get("birth_date")
    if birth is None:
        add("birth_date", "出生日期不能为空")
    elif birth > today:
        add("birth_date", "出生日期不能晚于今天")
    elif problem := periods.history_problem(birth, "出生日期", periods.EARLIEST_BIRTH):
        add("birth_date", problem)
    elif valid_number and idcard.birth_date(valid_number) != birth:
        add("birth_date", f"出生日期与身份证号不一致（身份证号为 {idcard.birth_date(valid_number):%Y-%m-%d}）")

    gender = d.get("gender")
    if gender is None:
        add("gender", "性别应为“男”或“女”")
    elif valid_number and idcard.gender(valid_number) != gender:
        add("gender", "性别与身份证号不一致")

    phone = (d.get("phone") or "").strip()
    if not phone:
        add("phone", "手机号码不能为空")
    elif not valid_phone(phone):
        add("phone", "手机号码格式不正确（应为11位手机号或带区号的固定电话）")

    joined = d.get("joined_on")
    confirmed = d.get("confirmed_on")
    category = d.get("category")
    if joined is None:
        add("joined_on", "入党日期不能为空")
    else:
        if joined > today:
            add("joined_on", "入党日期不能晚于今天")
        elif problem := periods.history_problem(joined, "入党日期"):
            add("joined_on", problem)
        if birth and birth <= today and _years_between(birth, joined) < MIN_JOIN_AGE:
            add("joined_on", f"入党时未满{MIN_JOIN_AGE}周岁，请核对入党日期或出生日期")
    if confirmed is not None:
        if confirmed > today:
            add("confirmed_on", "转正日期不能晚于今天")
        if joined and confirmed <= joined:
            add("confirmed_on", "转正日期应晚于入党日期")
        elif joined and (confirmed - joined).days < 365 * PROBATION_YEARS - PROBATION_SLACK_DAYS:
            add("confirmed_on", "转正日期距入党日期不足一年（预备期为一年，期满方可转正），请核对")
        elif joined and (confirmed - joined).days > 366 * (PROBATION_YEARS + 1) + PROBATION_SLACK_DAYS:
            add("confirmed_on", "转正日期距入党日期超过两年（预备期最长延长一年），请核对")
    if category is None:
        add("category", "人员类别应为“正式党员”或“预备党员”")
    elif category == Category.FULL and joined and confirmed is None:
        add("confirmed_on", "正式党员应填写转正日期")
    elif category == Category.PROBATIONARY:
        if confirmed is not None:
            add("confirmed_on", "预备党员不应有转正日期")
        if joined and (today - joined).days > 366 * (PROBATION_YEARS + 1):
            add("category", "入党已超过两年仍为预备党员，请核对人员类别（预备期最长两年）")

    for field, label in (("ethnicity", "民族"), ("workplace", "工作单位")):
        if not (d.get(field) or "").strip():
            add(field, f"{label}不能为空")
    if d.get("education") is None:
        add("education", "学历不在可选范围内")
    return errors
