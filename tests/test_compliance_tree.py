"""The whole-tree recompute in chunks of orgs (bounded memory at a province's size) stores the
same rows as the one-pass recompute."""
import datetime as dt

import pytest

from dangjian.activities import compliance
from dangjian.activities.models import ComplianceCoverage, ComplianceRow
from tests.test_compliance import TODAY, YEAR, generate


def stored():
    return sorted(ComplianceRow.objects.values_list("org_id", "code", "period", "required", "held", "status",
                                                    "evidence", "failed_quorum"), key=repr)


@pytest.mark.parametrize("seed", [1, 2])
def test_chunked_tree_recompute_stores_the_same_rows(db, seed):
    generate(seed)
    start, end = YEAR
    compliance.recompute(start, end, today=TODAY)
    whole = stored()
    covered = set(ComplianceCoverage.objects.values_list("period", flat=True))
    assert len(whole) > 50
    ComplianceRow.objects.all().delete()
    ComplianceCoverage.objects.all().delete()
    assert compliance.refresh(start, end, today=TODAY, chunk=3)["rows"] == len(whole)
    assert stored() == whole
    assert set(ComplianceCoverage.objects.values_list("period", flat=True)) == covered
    # run again: the chunks replace their own rows, nothing doubles
    compliance.refresh(start, end, today=dt.date(2025, 8, 31), chunk=4)
    assert len(stored()) == len(whole)
