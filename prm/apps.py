from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrmConfig(AppConfig):
    name = "prm"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from prm import rls, signals

        user_logged_in.connect(signals.remember_session, dispatch_uid="prm.remember_session")
        from allauth.account.signals import password_reset

        password_reset.connect(signals.verify_address_on_password_reset, dispatch_uid="prm.verify_on_reset")
        connection_created.connect(rls.on_connection_created, dispatch_uid="prm.rls.connection")
        # After every migrate, not per migration: later apps' tenant-owned tables are covered on their own.
        post_migrate.connect(rls.apply_policies_after_migrate, sender=self, dispatch_uid="prm.rls.policies")
