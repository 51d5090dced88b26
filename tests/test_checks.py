import datetime as dt

from dangjian.core import idcard
from dangjian.members.checks import check_member

TODAY = dt.date(2026, 11, 22)


def good(**over):
    n = idcard.make("110101", dt.date(1985, 6, 1), 11)  # 17th digit 1 → male
    d = dict(name="张三", id_number=n, birth_date=dt.date(1985, 6, 1), gender="male", phone="13800001111",
             joined_on=dt.date(2010, 7, 1), confirmed_on=dt.date(2011, 7, 1), category="full",
             ethnicity="汉族", workplace="市财政局", education="bachelor")
    d.update(over)
    return d


def fields(errors):
    return {f for f, _ in errors}


def test_clean_record_passes():
    assert check_member(good(), TODAY) == []


def test_each_rule_names_its_field():
    assert fields(check_member(good(birth_date=dt.date(1985, 6, 2)), TODAY)) == {"birth_date"}
    assert fields(check_member(good(gender="female"), TODAY)) == {"gender"}
    assert fields(check_member(good(phone="12345"), TODAY)) == {"phone"}
    assert fields(check_member(good(joined_on=dt.date(2000, 1, 1), confirmed_on=dt.date(2001, 1, 1)), TODAY)) == {"joined_on"}
    assert fields(check_member(good(confirmed_on=dt.date(2009, 1, 1)), TODAY)) == {"confirmed_on"}
    assert fields(check_member(good(confirmed_on=None), TODAY)) == {"confirmed_on"}
    assert fields(check_member(good(category="probationary"), TODAY)) == {"confirmed_on", "category"}
    assert fields(check_member(good(joined_on=dt.date(2027, 1, 1), confirmed_on=None, category="probationary"), TODAY)) == {"joined_on"}
    assert "校验码" in check_member(good(id_number="110101198506010111"), TODAY)[0][1]
