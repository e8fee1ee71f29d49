"""Where uploaded files of the partner program live: never under static, never at a public URL.

`PRM_FILE_STORAGE` picks the backend: `filesystem` (default) stores under `PRM_PRIVATE_MEDIA_ROOT`, a
directory no web server serves; `s3` stores in an S3-compatible bucket through django-storages, with private
objects and no public URLs. Either way a file reaches a browser only through a view that checks the tenant
and the audience first (enablement.views.asset_download). Incentives' claim proofs use the same storage.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, empty

STORAGE_SETTINGS = {
    "PRM_FILE_STORAGE",
    "PRM_PRIVATE_MEDIA_ROOT",
    "PRM_S3_BUCKET",
    "PRM_S3_ENDPOINT_URL",
    "PRM_S3_REGION",
    "PRM_S3_ACCESS_KEY_ID",
    "PRM_S3_SECRET_ACCESS_KEY",
    "PRM_S3_PREFIX",
}


def build_private_storage():
    """A storage backend for private files, from the PRM_FILE_STORAGE settings."""
    if settings.PRM_FILE_STORAGE == "s3":
        from storages.backends.s3 import S3Storage

        return S3Storage(
            bucket_name=settings.PRM_S3_BUCKET,
            endpoint_url=settings.PRM_S3_ENDPOINT_URL or None,
            region_name=settings.PRM_S3_REGION or None,
            access_key=settings.PRM_S3_ACCESS_KEY_ID or None,
            secret_key=settings.PRM_S3_SECRET_ACCESS_KEY or None,
            location=settings.PRM_S3_PREFIX,
            # Objects stay private: no public-read ACL, and a name is never reused for another file.
            default_acl="private",
            querystring_auth=True,
            file_overwrite=False,
        )
    if settings.PRM_FILE_STORAGE != "filesystem":
        raise ValueError(f"PRM_FILE_STORAGE must be 'filesystem' or 's3', not {settings.PRM_FILE_STORAGE!r}")
    # No base_url: a stored file has no URL at all, so nothing can link to it past the download view.
    return FileSystemStorage(location=settings.PRM_PRIVATE_MEDIA_ROOT, base_url=None)


class PrivateStorage(LazyObject):
    def _setup(self):
        self._wrapped = build_private_storage()


_private = PrivateStorage()


def private_storage():
    """The private storage (the FileField's callable, so migrations do not pin a backend)."""
    return _private


def _reset(setting, **kwargs):
    # Tests point the storage at a temporary directory with override_settings.
    if setting in STORAGE_SETTINGS:
        _private._wrapped = empty


setting_changed.connect(_reset)
