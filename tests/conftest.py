import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts from an empty cache: SQLite gives the ids of a rolled-back test again,
    so a key naming the highest ids could otherwise meet another test's entry."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tree(db):
    """A small city: 工委 → two departments' 机关党委 → branches, with members."""
    wc = factories.org(kind="working_committee", name="示例市直机关工委", code="WC")
    a = factories.org(wc, kind="organ_committee", name="市财政局机关党委", code="CZ")
    b = factories.org(wc, kind="organ_committee", name="市教育局机关党委", code="JY")
    a1 = factories.org(a, kind="branch", name="财政局第一党支部", code="CZ01")
    b1 = factories.org(b, kind="branch", name="教育局第一党支部", code="JY01")
    ma = factories.member(a1, name="李明")
    mb = factories.member(b1, name="王芳", gender="female")
    return {"wc": wc, "a": a, "b": b, "a1": a1, "b1": b1, "ma": ma, "mb": mb}


@pytest.fixture
def personas(tree):
    """One user per role, each scoped to a part of the tree."""
    return {
        "wc_admin": factories.user("wc_admin", tree["wc"], username="wcadmin"),
        "unit_admin_a": factories.user("unit_admin", tree["a"], username="unita"),
        "unit_admin_b": factories.user("unit_admin", tree["b"], username="unitb"),
        "secretary_a1": factories.user("branch_secretary", tree["a1"], username="seca1"),
        "member_a": factories.user("member", tree["a1"], member=tree["ma"], username="mema"),
        "leader": factories.user("leader", tree["wc"], username="leader"),
    }


@pytest.fixture
def city(tree):
    """Two departments with a few branches each and half a year of meetings, some skipped,
    with attendance lists drawn at random."""
    import datetime as dt
    import random

    from dangjian.activities import compliance

    rng = random.Random(3)
    branches = [factories.branch_with(tree[u], full=rng.randint(3, 8)) for u in ("a", "a", "a", "b", "b")]
    for b in branches:
        for month in range(1, 8):
            if rng.random() < 0.25:
                continue
            att = {m.pk: rng.choice(["present", "present", "present", "absent", ("excused", "出差")]) for m in b.people}
            factories.record(b, ["theme_day"], dt.date(2025, month, rng.randint(1, 28)), attendance=att)
    compliance.recompute(dt.date(2025, 1, 1), factories.TODAY, today=factories.TODAY)
    return {**tree, "branches": [tree["a1"], tree["b1"], *branches]}


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser_page():
    """A page of Debian's Chromium driven by Playwright (never a downloaded browser)."""
    import os
    import shutil

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} 未安装：make test 会用 apt-get 安装 Debian 的 chromium")
    # Playwright's sync API runs an event loop in this thread; the live server runs in
    # another thread, and the fixtures touch the database only from this one.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(15_000)
        yield page
        browser.close()


@pytest.fixture
def login_as(client, personas):
    """The test client, logged in (by password, as a person would) as one of the personas."""
    def as_(username):
        client.logout()
        assert client.login(username=username, password=factories.PASSWORD)
        return client

    return as_
