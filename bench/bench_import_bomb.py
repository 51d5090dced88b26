"""A zip bomb against the roster import: a workbook of a few MB whose sheet expands to about
500 MB of blank rows (the probe's file held 550 MB in 1.67 MB and cost ≈ 170 s and ≈ 1 GB).
Wall time and peak memory of `dangjian import-members` refusing it (targets, beyond the start
of the command measured alone: ≤ 5 s, ≤ 200 MB),
beside the baseline measured in the same run: a normal import of 1,000 rows; and the same 1,000
rows followed by 200,000 numbered blank rows under the size limit, which the reader ends after
1,000 of them, so it costs about what the 1,000 rows cost."""
import json
import zipfile
from pathlib import Path

from bench_import import city_with_roster, timed
from common import DANGJIAN, table

ROWS = 1_000
BRANCHES = 40
BOMB_ROWS = 1_000_000
TIME_TARGET_S = 5
MEMORY_TARGET_MB = 200
SHEET = "xl/worksheets/sheet1.xml"


def padded(source: Path, out: Path, chunks, dimension: str) -> Path:
    """`source` with the rows that `chunks` yields streamed into its sheet after the data."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != SHEET:
                dst.writestr(info, data)
                continue
            xml = data.decode()
            start = xml.index("<dimension ref=\"")
            xml = xml[:start] + f'<dimension ref="{dimension}"/>' + xml[xml.index("/>", start) + 2:]
            head, tail = xml.split("</sheetData>")
            with dst.open(SHEET, "w", force_zip64=True) as fh:
                fh.write(head.encode())
                for chunk in chunks:
                    fh.write(chunk)
                fh.write(("</sheetData>" + tail).encode())
    return out


def main() -> None:
    env, members, tmp = city_with_roster("import-bomb", ROWS, BRANCHES)

    row = ("<row>" + '<c s="0"/>' * 48 + "</row>").encode() * 10_000
    bomb = padded(members, tmp / "bomb.xlsx", (row for _ in range(BOMB_ROWS // 10_000)),
                  f"A1:AV{BOMB_ROWS + ROWS + 1}")
    first = ROWS + 2

    def numbered():
        for start in range(first, first + 200_000, 10_000):
            yield "".join(f'<row r="{r}" spans="1:19"><c r="A{r}" s="0"/></row>' for r in range(start, start + 10_000)
                          ).encode()

    blank = padded(members, tmp / "blank.xlsx", numbered(), f"A1:S{first + 200_000 - 1}")

    def expanded(path: Path) -> float:
        return sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 1048576

    # The floor every command pays on this machine now: starting Django and the command.
    floor, _, proc = timed([DANGJIAN, "import-members", "--help"], env)
    assert proc.returncode == 0, proc.stderr
    results = []
    for label, path, dry in (("normal import, 1,000 rows (baseline)", members, False),
                             ("blank-row sheet, 200,000 rows", blank, True),
                             ("zip bomb, 1,000,000 blank rows", bomb, True)):
        args = [DANGJIAN, "import-members", str(path), "--format", "json"] + (["--dry-run"] if dry else [])
        wall, rss, proc = timed(args, env)
        report = json.loads(proc.stdout)
        outcome = ((f"imported {report['created']}" if not dry else "accepted (dry run)") if report["ok"] else
                   "refused: " + report["errors"][0]["message"][:40])
        results.append((label, path, wall, rss, outcome))

    base = results[0][2]
    rows = [("file", "file MB", "expanded MB", "outcome", "wall s", "beyond start s", "peak MB", "vs baseline",
             "targets (beyond start)")]
    for label, path, wall, rss, outcome in results:
        ok = "" if path != bomb else (
            "met" if wall - floor <= TIME_TARGET_S and rss <= MEMORY_TARGET_MB else "MISSED")
        rows.append((label, f"{path.stat().st_size / 1048576:.2f}", f"{expanded(path):.0f}", outcome, f"{wall:.2f}",
                     f"{wall - floor:.2f}", f"{rss:.0f}", f"{wall / base:.2f}×",
                     f"≤ {TIME_TARGET_S} s, ≤ {MEMORY_TARGET_MB} MB: {ok}" if ok else "—"))
    table(rows)
    print(f"start of a command alone (dangjian import-members --help): {floor:.2f} s")


if __name__ == "__main__":
    main()
