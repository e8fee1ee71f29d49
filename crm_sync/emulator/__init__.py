"""A local Salesforce emulator over HTTPS for the demo and the tests; see docs/crm_emulator.md."""

from .server import Emulator, emulator_session

__all__ = ["Emulator", "emulator_session"]
