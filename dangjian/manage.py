"""The `dangjian` console script: the project's manage.py.

Before any command runs, the configured field key is checked against the data
(core.keycheck): a key that does not fit stops every command with a message, except those that
read no data (help, makemigrations) and `restore`, which checks the key against its backup.
"""
import os
import sys

NO_KEY_CHECK = {"help", "--help", "-h", "version", "--version", "makemigrations", "restore"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dangjian.settings")
    import django
    from django.core.management import execute_from_command_line

    if len(argv) > 1 and argv[1] not in NO_KEY_CHECK:
        django.setup()
        from dangjian.core.keycheck import refuse_on_mismatch

        refuse_on_mismatch()
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
