"""The private storage is chosen by setting: a directory no URL serves, or a private S3-compatible bucket."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from enablement.storage import private_storage


def test_files_go_to_the_private_directory_by_default(settings, tmp_path):
    settings.PRM_PRIVATE_MEDIA_ROOT = tmp_path
    storage = private_storage()
    name = storage.save("tenants/acme/enablement/assets/x.txt", ContentFile(b"hi"))
    assert (tmp_path / name).read_bytes() == b"hi"
    assert isinstance(storage._wrapped, FileSystemStorage)


def test_an_s3_compatible_bucket_is_chosen_by_setting_with_private_objects(settings):
    settings.PRM_S3_BUCKET = "partner-files"
    settings.PRM_S3_ENDPOINT_URL = "http://127.0.0.1:9000"
    settings.PRM_S3_PREFIX = "private"
    settings.PRM_FILE_STORAGE = "s3"
    storage = private_storage()
    storage._setup()
    backend = storage._wrapped
    assert isinstance(backend, S3Storage)
    assert (backend.bucket_name, backend.endpoint_url, backend.location) == (
        "partner-files",
        "http://127.0.0.1:9000",
        "private",
    )
    assert backend.default_acl == "private" and backend.file_overwrite is False


def test_an_unknown_storage_setting_fails_loudly(settings):
    settings.PRM_FILE_STORAGE = "ftp"
    with pytest.raises(ValueError, match="PRM_FILE_STORAGE"):
        private_storage()._setup()
