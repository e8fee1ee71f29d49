"""Checks every uploaded file passes before anything is stored: allowed extension, contents that match it,
and a size cap. Reusable: enablement's assets use it, and incentives' MDF claim proofs will.

A name proves nothing: a file is allowed when its extension is on the allowlist AND its bytes are what the
extension claims (the file signature, read with `filetype`). Text formats have no signature, so they must be
UTF-8 text without markup a browser would run (HTML, SVG, scripts). The stored name is generated
(`generated_name`), never the uploaded one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# extension -> (the content type we serve it as, the extensions filetype may report for its bytes)
BINARY_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "pdf": ("application/pdf", frozenset({"pdf"})),
    "png": ("image/png", frozenset({"png", "apng"})),
    "jpg": ("image/jpeg", frozenset({"jpg"})),
    "jpeg": ("image/jpeg", frozenset({"jpg"})),
    "gif": ("image/gif", frozenset({"gif"})),
    "webp": ("image/webp", frozenset({"webp"})),
    "mp4": ("video/mp4", frozenset({"mp4", "m4v"})),
    "zip": ("application/zip", frozenset({"zip"})),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", frozenset({"docx"})),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", frozenset({"xlsx"})),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        frozenset({"pptx"}),
    ),
}
TEXT_TYPES: dict[str, str] = {"csv": "text/csv", "txt": "text/plain"}
DEFAULT_ALLOWED = frozenset(BINARY_TYPES) | frozenset(TEXT_TYPES)

# Markup that makes a "text" file a page a browser would render or run.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|iframe|object|embed|svg|img|a\s|meta|link|style|form|\?xml)"
    rb"|javascript\s*:",
    re.IGNORECASE,
)
_CHUNK = 64 * 1024
_SIGNATURE_BYTES = 8 * 1024


@dataclass(frozen=True)
class CheckedUpload:
    """What the checks found out about a file that passed them."""

    extension: str
    content_type: str
    size: int
    original_name: str


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _read_head(upload, size: int) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def _looks_like_markup(upload) -> bool:
    # Chunks overlap by a little, so a tag split across two chunks is still seen.
    upload.seek(0)
    tail = b""
    while chunk := upload.read(_CHUNK):
        if _MARKUP.search(tail + chunk):
            upload.seek(0)
            return True
        tail = chunk[-32:]
    upload.seek(0)
    return False


def _is_utf8_text(upload) -> bool:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def validate_upload(
    upload, *, allowed: frozenset[str] = DEFAULT_ALLOWED, max_bytes: int | None = None
) -> CheckedUpload:
    """Check `upload` (a Django UploadedFile or File); raise ValidationError saying what is wrong."""
    max_bytes = settings.PRM_UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    name = getattr(upload, "name", "") or ""
    original = name.replace("\\", "/").rsplit("/", 1)[-1][:200]
    extension = extension_of(original)
    if extension not in allowed:
        raise ValidationError(
            _("Files of type “%(extension)s” are not accepted. Allowed: %(allowed)s.")
            % {"extension": extension or _("no extension"), "allowed": ", ".join(sorted(allowed))},
            code="extension",
        )
    size = upload.size
    if size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
            code="size",
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")

    if extension in TEXT_TYPES:
        if not _is_utf8_text(upload) or _looks_like_markup(upload):
            raise ValidationError(
                _("The file’s contents are not plain %(extension)s text (it holds markup or binary data).")
                % {"extension": extension.upper()},
                code="contents",
            )
        return CheckedUpload(extension, TEXT_TYPES[extension], size, original)

    content_type, signatures = BINARY_TYPES[extension]
    found = filetype.guess(_read_head(upload, _SIGNATURE_BYTES))
    if found is None or found.extension not in signatures:
        raise ValidationError(
            _("The file’s contents are not a %(extension)s file, whatever its name says.")
            % {"extension": extension.upper()},
            code="contents",
        )
    return CheckedUpload(extension, content_type, size, original)


def generated_name(folder: str, extension: str) -> str:
    """A fresh, unguessable file name in `folder` (the uploaded name never becomes a path)."""
    return f"{folder.strip('/')}/{uuid.uuid4().hex}.{extension}"
