"""Excel export of a run's scores: one row per target, one column per indicator."""
from dangjian.core import periods, xlsx

from .models import Grade


def export_scores(run, scores, out) -> int:
    indicators = list(run.scheme.indicators.all())
    columns = [xlsx.Column("名次", "place", width=6), xlsx.Column("组织代码", "code", width=12, text=True),
               xlsx.Column("考核对象", "name", width=30), xlsx.Column("总分", "total", width=8, number_format="0.00"),
               xlsx.Column("等次", "grade", width=6)]
    columns += [xlsx.Column(f"{i.name}（{i.weight}分）", f"i{i.pk}", width=14, number_format="0.00")
                for i in indicators]
    labels = dict(Grade.choices)

    def rows():
        for s in scores.iterator(chunk_size=500):
            by_indicator = {b["indicator_id"]: float(b["score"]) for b in s.breakdown if b.get("score") is not None}
            yield [s.place, s.org.code, s.org.name, None if s.total is None else float(s.total),
                   labels.get(s.grade, "暂定" if not run.is_final else "无得分"),
                   *[by_indicator.get(i.pk) for i in indicators]]

    title = f"{periods.name_of(run.period)}考评结果" + ("（暂定）" if not run.is_final else "")
    return xlsx.write(out, columns, rows(), title=title[:31])
