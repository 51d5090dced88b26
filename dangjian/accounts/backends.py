"""Password login with lockout. Token authentication (API) does not use backends."""
from django.contrib.auth.backends import ModelBackend

from . import services
from .models import User


class LockoutBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is not None and services.is_locked(user):
            # Refused without checking the password: a locked account cannot be guessed at.
            return None
        result = super().authenticate(request, username=username, password=password, **kwargs)
        if result is None:
            services.record_failure(username)
        else:
            services.record_success(result)
        return result
