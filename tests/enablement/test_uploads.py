"""Upload checks (enablement/uploads.py) and the admin's upload form: allowed, disguised and oversized
files; refused files store nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from enablement import uploads
from enablement.models import Asset
from enablement.storage import private_storage
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in
from tests.enablement.samples import TINY_PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("deck.pdf", TINY_PDF, "application/pdf"),
        ("Logo.PNG", PNG, "image/png"),
        ("pricing.csv", b"sku,price\nA-1,100\n", "text/csv"),
        ("notes.txt", "Grüße aus Köln\n".encode(), "text/plain"),
        ("proposal.docx", docx_bytes(), uploads.BINARY_TYPES["docx"][0]),
    ],
    ids=["pdf", "png", "csv", "txt", "docx"],
)
def test_it_accepts_allowed_files_whose_contents_match_their_name(name, data, content_type):
    checked = uploads.validate_upload(ContentFile(data, name=name))
    assert checked.content_type == content_type
    assert checked.size == len(data)


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("invoice.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not a PDF file"),
        ("photo.png", TINY_PDF, "not a PNG file"),
        ("prices.csv", b"name,url\n<script>steal()</script>,x\n", "not plain CSV"),
        ("readme.txt", b"<svg onload=alert(1)>", "not plain TXT"),
        ("readme.txt", b"\x00\x01\x02binary", "not plain TXT"),
        ("page.html", b"<html></html>", "are not accepted"),
        ("tool.exe", b"MZ\x90\x00", "are not accepted"),
        ("noextension", b"hello", "are not accepted"),
        ("empty.pdf", b"", "empty"),
    ],
    ids=[
        "html-as-pdf",
        "pdf-as-png",
        "script-in-csv",
        "svg-in-txt",
        "binary-txt",
        "html",
        "exe",
        "no-extension",
        "empty",
    ],
)
def test_it_refuses_disallowed_or_disguised_files_with_a_clear_message(name, data, says):
    with pytest.raises(ValidationError) as refused:
        uploads.validate_upload(ContentFile(data, name=name))
    assert says in " ".join(refused.value.messages)


def test_it_refuses_a_file_over_the_size_cap(settings):
    settings.PRM_UPLOAD_MAX_BYTES = 100
    with pytest.raises(ValidationError) as refused:
        uploads.validate_upload(ContentFile(TINY_PDF + b" " * 100, name="big.pdf"))
    assert "the limit is 100" in refused.value.messages[0]


def test_markup_split_across_read_chunks_is_still_found():
    data = b"a" * (64 * 1024 - 3) + b"<script>x</script>"
    with pytest.raises(ValidationError):
        uploads.validate_upload(ContentFile(data, name="long.txt"))


def test_generated_names_are_fresh_and_keep_only_the_extension():
    first, second = (
        uploads.generated_name("tenants/acme/x", "pdf"),
        uploads.generated_name("tenants/acme/x", "pdf"),
    )
    assert first != second and first.startswith("tenants/acme/x/") and first.endswith(".pdf")


def admin_add(client, **overrides):
    data = {
        "title": "Gold deck",
        "kind": "file",
        "description": "",
        "product": "",
        "tags": "",
        "is_published": "on",
        "url": "",
        **overrides,
    }
    return client.post("/admin/enablement/asset/add/", data)


def test_a_manager_uploads_a_file_stored_privately_under_a_generated_name(cast, settings):
    client = signed_in(cast.manager)
    response = admin_add(client, file=SimpleUploadedFile("Gold Deck (final).pdf", TINY_PDF))
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(cast.tenant):
        asset = Asset.objects.get(title="Gold deck")
    assert asset.file_name == "Gold Deck (final).pdf"
    assert asset.content_type == "application/pdf"
    assert asset.file.name.startswith("tenants/acme/enablement/assets/")
    assert "Gold" not in asset.file.name
    assert str(settings.PRM_PRIVATE_MEDIA_ROOT) in private_storage().path(asset.file.name)
    assert not str(settings.PRM_PRIVATE_MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


def test_a_disguised_file_is_refused_in_the_admin_and_nothing_is_stored(cast, settings):
    client = signed_in(cast.manager)
    root = settings.PRM_PRIVATE_MEDIA_ROOT
    before = sorted(p for p in root.rglob("*") if p.is_file())
    html = b"<html><body><script>document.location='//evil'</script></body></html>"
    response = admin_add(
        client, file=SimpleUploadedFile("brochure.pdf", html, content_type="application/pdf")
    )
    assert response.status_code == 200
    assert "not a PDF file, whatever its name says" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not Asset.objects.filter(title="Gold deck").exists()
    assert sorted(p for p in root.rglob("*") if p.is_file()) == before


def test_a_file_asset_without_a_file_and_a_link_without_an_address_are_refused(cast):
    client = signed_in(cast.manager)
    assert "Upload the file of a file asset." in admin_add(client).content.decode()
    assert "Give the address of a link or video asset." in admin_add(client, kind="link").content.decode()
    with tenant_scope(cast.tenant):
        assert not Asset.objects.exists()


def test_the_admin_links_a_stored_file_through_the_checked_download_only(cast, content):
    page = signed_in(cast.manager).get(f"/admin/enablement/asset/{content.asset.pk}/change/").content.decode()
    assert f'href="/enablement/assets/{content.asset.public_id}/download"' in page
    assert content.asset.file.name not in page
