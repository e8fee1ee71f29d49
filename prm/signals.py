"""Receivers of the core."""

from prm.models import UserSession


def remember_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(session_key=session.session_key, defaults={"user": user})


def verify_address_on_password_reset(sender, request, user, **kwargs) -> None:
    """A completed password reset proves the person reads mail at their address: mark it verified, so an
    invited person who chose a password from the invitation is not asked to confirm the address again."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
