"""Run the local Salesforce emulator in the foreground: `manage.py crm_emulator [--port 8443] ...`."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm_sync.emulator import Emulator


class Command(BaseCommand):
    help = "Run the local Salesforce emulator (HTTPS on 127.0.0.1) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8443, help="port on 127.0.0.1 (0: a free one)")
        parser.add_argument("--data-dir", default=".prm/crm-emulator", help="records, log and certificates")
        parser.add_argument("--client-id", help="connected app for the client-credentials flow")
        parser.add_argument("--client-secret", help="its secret (default: generated)")
        parser.add_argument("--user", help="user for the username-password flow")
        parser.add_argument("--password", help="the user's password")

    def handle(self, *args, **options):
        if bool(options["user"]) != bool(options["password"]):
            raise CommandError("--user and --password go together")
        try:
            emulator = Emulator(Path(options["data_dir"]), port=options["port"])
            emulator.bind()
        except OSError as failure:
            raise CommandError(f"cannot listen on 127.0.0.1:{options['port']}: {failure}") from failure
        lines = [f"Salesforce emulator on {emulator.url}", f"CA certificate: {emulator.ca_path.resolve()}"]
        if options["client_id"] or not options["user"]:
            client_id = options["client_id"] or "prm-emulator"
            secret = options["client_secret"] or secrets.token_urlsafe(24)
            emulator.add_client(client_id, secret)
            lines.append(f"client credentials: client_id={client_id} client_secret={secret}")
        if options["user"]:
            emulator.add_user(options["user"], options["password"])
            lines.append(f"username-password: username={options['user']} (password as given)")
        lines.append(f"token endpoint: {emulator.url}/services/oauth2/token  (Ctrl-C stops it)")
        self.stdout.write("\n".join(lines), ending="\n")
        self.stdout.flush()
        try:
            emulator.run_forever()
        except KeyboardInterrupt:
            self.stdout.write("Salesforce emulator stopped.")
