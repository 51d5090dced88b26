import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dangjian.settings")
application = get_wsgi_application()

# The server does not start with a field key that does not fit the data (core.keycheck).
from dangjian.core.keycheck import refuse_on_mismatch  # noqa: E402

refuse_on_mismatch()
