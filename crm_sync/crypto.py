"""Encryption of CRM credentials at rest, with keys independent of SECRET_KEY and rotatable.

The keys are `settings.PRM_CRM_ENCRYPTION_KEYS`, Fernet keys newest first: the newest encrypts, every one
decrypts (MultiFernet), so a new key can be put first while old ciphertexts are still readable, and
`manage.py crm_rotate_keys` re-encrypts them with it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAKE_A_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class UndecryptableSecret(Exception):
    """A stored secret that none of the configured keys can decrypt."""


def _fernet() -> MultiFernet:
    keys = settings.PRM_CRM_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "No key to encrypt CRM credentials with: set PRM_CRM_ENCRYPTION_KEYS to one or more Fernet keys "
            f"(comma-separated, newest first). Make a key with: {MAKE_A_KEY}"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as bad_key:
        raise ImproperlyConfigured(
            "PRM_CRM_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded "
            f"bytes). Make a key with: {MAKE_A_KEY}"
        ) from bad_key


def encrypt(plaintext: str) -> str:
    """The ciphertext of `plaintext` under the newest key ("" stays "": nothing is stored)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """The plaintext of a stored secret; raises UndecryptableSecret when no configured key fits."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as unreadable:
        raise UndecryptableSecret("no key in PRM_CRM_ENCRYPTION_KEYS decrypts this secret") from unreadable


def rotate(ciphertext: str) -> str:
    """The same secret encrypted under the newest key; raises UndecryptableSecret as decrypt() does."""
    if not ciphertext:
        return ""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as unreadable:
        raise UndecryptableSecret("no key in PRM_CRM_ENCRYPTION_KEYS decrypts this secret") from unreadable
