"""`dangjian bulletin --run ID --out FILE.docx`: write the bulletin (通报) of an evaluation run as
a .docx in 公文 style — the full text, naming every assessed organization, as the working
committee issues it."""
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dangjian.assessment import bulletin, services
from dangjian.assessment.models import Run
from dangjian.core import audit


class Command(BaseCommand):
    help = "将某次考评的通报生成为公文格式的 Word 文件（.docx）"

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="考评编号（考评页面地址中的数字）")
        parser.add_argument("--out", required=True, help="输出文件，如 通报.docx")

    def handle(self, *args, run, out, **options):
        raw = run.strip()
        if not raw.isdigit() or len(raw) > 12:
            raise CommandError(f"--run：考评编号应为数字，收到“{run}”", returncode=2)
        found = Run.objects.select_related("scheme").filter(pk=int(raw)).first()
        if found is None:
            raise CommandError(f"--run：编号为 {raw} 的考评不存在", returncode=2)
        refused = services.bulletin_problem(found)
        if refused:
            raise CommandError(refused, returncode=2)
        target = Path(out)
        if target.suffix.lower() != ".docx":
            raise CommandError(f"--out：应为 .docx 文件，收到“{out}”", returncode=2)
        if not target.parent.is_dir():
            raise CommandError(f"--out：目录“{target.parent}”不存在", returncode=2)
        doc = bulletin.for_run(found)
        data = bulletin.to_docx(doc)
        # Written beside the target and renamed over it, so a failed write leaves no half file.
        try:
            fd, tmp = tempfile.mkstemp(prefix=".bulletin-", suffix=".docx", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the file is a normal document
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise CommandError(f"无法写入文件 {out}：{exc.strerror or exc}", returncode=2) from None
        audit.record_export(None, "bulletin", "通报（Word 文件）", doc.figures.assessed,
                            {"run": found.pk, "form": "docx", "out": str(target)})
        f = doc.figures
        counts = "，".join(f"{bulletin.GRADE_LABELS[g]} {n}" for g, n in f.grade_counts.items())
        self.stdout.write(f"已生成《{doc.title}》：{f.assessed} 个考核对象（{counts}），"
                          f"{len(doc.admonished)} 个列入约谈，写入 {target}")
