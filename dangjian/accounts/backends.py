"""Password login with lockout (accounts.services). Token authentication (API) does not use
backends."""
from django.contrib.auth.backends import ModelBackend

from . import services
from .models import User


class LockoutBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = services.client_address(request)
        if services.active_lock(username, address) is not None:
            # Refused without checking the password: a locked login cannot be guessed at.
            return None
        result = super().authenticate(request, username=username, password=password, **kwargs)
        if result is None:
            services.record_failure(username, address)
        else:
            services.record_success(result, address)
        return result
