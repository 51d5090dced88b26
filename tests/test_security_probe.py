"""scripts/security-probe: the checks it judges the live server by. The server side is
measured by running the probe (docs/security.md); here, that its own judgement sees a hole."""
import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from dangjian.orgs.models import Organization, segment

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "security-probe"


@pytest.fixture(scope="module")
def probe():
    loader = importlib.machinery.SourceFileLoader("security_probe", str(SCRIPT))
    spec = importlib.util.spec_from_loader("security_probe", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_sound_tree_passes(probe, tree):
    assert probe.Probe.tree_problems() == {"bad_paths": 0, "cycles": 0, "members_out_of_tree": 0}


def test_a_path_that_does_not_follow_its_parent_is_found(probe, tree):
    a1, b = tree["a1"], tree["b"]
    # What the old race left: the parent says one department, the path another.
    Organization.objects.filter(pk=a1.pk).update(path=b.path + segment(a1.pk))
    assert probe.Probe.tree_problems()["bad_paths"] == 1


def test_two_orgs_each_under_the_other_are_a_cycle(probe, tree):
    a, a1 = tree["a"], tree["a1"]
    Organization.objects.filter(pk=a.pk).update(parent=a1)
    found = probe.Probe.tree_problems()
    assert found["cycles"] == 2  # a and a1 both climb into the loop
    assert found["bad_paths"] >= 1


def test_other_subtrees_exclude_the_roles_own_and_its_ancestors(probe, tree):
    wc, a, a1, b1 = tree["wc"], tree["a"], tree["a1"], tree["b1"]
    roots = [a1.path]
    assert probe.Probe.outside(b1.path, roots)
    assert not probe.Probe.outside(a1.path, roots)
    assert not probe.Probe.outside(a.path, roots)  # above the role: not another subtree
    assert not probe.Probe.outside(wc.path, roots)


def test_the_table_shows_a_part_not_run_as_a_dash(probe):
    text = probe.table({"scoping": {"web_gets": 7, "web_leaks": 1, "api_leaks": 2}})
    assert "| 网页 GET / web GETs | 7 |" in text
    assert "| 越权读取 / out-of-scope reads | 3 |" in text
    assert "| 丢失的修改 / lost updates | — |" in text
