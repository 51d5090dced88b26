"""`dangjian development-check [--org CODE] [--today YYYY-MM-DD] --format json|table`: the
development timeline rules broken in the whole tree, or in one org's subtree, as of a day.

JSON: {"violations": [{"person", "org_code", "step", "rule", "message"}]} — `person` is the
applicant's name, `step` the step's code in the catalog (development/catalog.py: apply, talk,
activist_review, candidate, training, branch_meeting, approval, confirm_meeting,
confirm_approval …), `rule` the rule's code (min_age, talk_within, activist_review,
activist_min, training_min, political_review, branch_meeting_within, quorum, majority,
approval_within, approval_max, party_group, probation, extension, confirm_within), `message`
the Chinese explanation. Exit code 0 either way: the list is the answer."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import table, to_json, today_arg
from dangjian.development import checks
from dangjian.development.models import Applicant
from dangjian.orgs.models import Organization


class Command(BaseCommand):
    help = "检查发展党员工作的时限规则（可限某党组织及其下级）"

    def add_arguments(self, parser):
        parser.add_argument("--org", default="", help="组织代码：只检查该组织及其下级培养的申请人")
        parser.add_argument("--today", default=None, help="以哪一天为准（YYYY-MM-DD，默认今天）")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, org, today, format, **options):
        day = today_arg(today)
        qs = Applicant.objects.all()
        if org.strip():
            root = Organization.objects.filter(code=org.strip()).first()
            if root is None:
                raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
            qs = qs.filter(org__path__startswith=root.path)
        found = checks.violations(qs, day)
        if format == "json":
            self.stdout.write(to_json({"violations": [v.as_dict() for v in found]}))
            return
        lines = [("申请人", "组织代码", "步骤", "规则", "说明")]
        lines += [(v.person, v.org_code, v.step_name, v.rule, v.message) for v in found]
        self.stdout.write(table(lines))
        self.stdout.write(f"截至 {day:%Y-%m-%d}，共 {len(found)} 处违反发展党员时限规则。")
