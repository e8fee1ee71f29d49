from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = _("Onboarding")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from onboarding import receivers
        from prm import events

        # After partners' receiver (INSTALLED_APPS order): the referral plan needs the referral type.
        events.tenant_created.connect(
            receivers.add_tenant_defaults, dispatch_uid="onboarding.tenant_defaults"
        )
        user_logged_in.connect(receivers.send_first_login, dispatch_uid="onboarding.first_login")
        for signal, receiver in [
            (events.partner_approved, receivers.on_partner_approved),
            (events.agreement_signed, receivers.on_agreement_signed),
            (events.profile_completed, receivers.on_profile_completed),
            (events.partner_first_login, receivers.on_partner_first_login),
            (events.course_passed, receivers.on_course_passed),
            (events.deal_registered, receivers.on_deal_registered),
        ]:
            signal.connect(receiver, dispatch_uid=f"onboarding.{receiver.__name__}")
