"""Sign-in rules on top of django-allauth: a tenant's host lets in that tenant's members only.

A person of another tenant gets exactly the answer a wrong password gets, so nothing about who belongs
where is disclosed. The base host lets in platform superusers only.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from prm.models import Membership


def may_sign_in_here(user, request: HttpRequest | None) -> bool:
    """Whether `user` may hold a session on the host of `request`."""
    if request is None or not user.is_active:
        return False
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return user.is_superuser
    # The request runs inside the tenant's scope: this sees this tenant's memberships only.
    return Membership.objects.active().filter(user=user).exists()


class TenantMemberAuthenticationBackend(AuthenticationBackend):
    """allauth's email + password backend, refusing people who are not members of the host's tenant."""

    def authenticate(self, request, **credentials):
        self._request = request
        return super().authenticate(request, **credentials)

    def _check_password(self, user, password):
        if user is not None and not may_sign_in_here(user, self._request):
            # Spend the same hashing time as a real check, then fail as a wrong password would.
            self._did_check_password = True
            user.check_password(password)
            return None
        return super()._check_password(user, password)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People join through a partner application or an invitation, never by open sign-up.
        return False

    def pre_login(self, request, user, **kwargs):
        # Every way in (password, emailed code, after verification or reset) passes here.
        if not may_sign_in_here(user, request):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            messages.error(request, _("The email address and/or password you specified are not correct."))
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth's emails speak as the tenant whose host the person used (templates/account/email/).
        context.setdefault("tenant", getattr(self.request, "tenant", None))
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        tenant = getattr(self.request, "tenant", None)
        return f"[{tenant.name}] {subject}" if tenant else subject
