"""Talking to a tenant's Salesforce org: a token from the login URL, then simple-salesforce.

The product obtains the token itself (client-credentials or username-password grant) and hands
`session_id` + `instance_url` to simple-salesforce, which is also how an org with a My Domain URL works.
Tokens are cached in the Django cache per connection; `with_fresh_session` runs a call and, when the CRM
says the session expired (401 INVALID_SESSION_ID), logs in again and runs it once more. Every failure
comes out as `CRMError`, whose message says what a channel manager can act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

import requests
from django.core.cache import cache
from django.utils.translation import gettext as _
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from crm_sync import crypto
from crm_sync.models import AuthFlow, CRMConnection

T = TypeVar("T")

# Salesforce sessions last two hours by default; a shorter cache keeps a revoked token's damage small.
TOKEN_CACHE_SECONDS = 30 * 60
# (connect, read) seconds for every request to the CRM.
TIMEOUT = (10, 60)


class CRMError(Exception):
    """A failure talking to the CRM, with a message a channel manager can act on."""


def http_session(connection: CRMConnection) -> requests.Session:
    """A requests session that trusts the connection's CA file, or the system's CAs when none is set.

    trust_env is off because requests lets REQUESTS_CA_BUNDLE (set on some machines) override
    Session.verify, and proxies from the environment have no business with the CRM traffic.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = connection.ca_cert_path or True
    return session


def _cache_key(connection: CRMConnection) -> str:
    # Any change to where or as whom we sign in makes a new key, so a stale token is never reused.
    identity = "|".join(
        [
            connection.login_url,
            connection.auth_flow,
            connection.client_id,
            connection.username,
            connection.client_secret_encrypted,
            connection.password_encrypted,
            connection.ca_cert_path,
        ]
    )
    return f"crm-token:{connection.pk}:{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def forget_token(connection: CRMConnection) -> None:
    """Drop the cached token, so the next call signs in again."""
    cache.delete(_cache_key(connection))


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a requests failure ("[Errno 111] Connection refused"), not its wrappings."""
    seen = error
    for _depth in range(10):  # a bounded walk: exception chains are short, and must not loop
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            inner = seen.__cause__ or seen.__context__
        if inner is None or inner is seen:
            break
        seen = inner
    text = str(seen)
    # urllib3 prefixes its connection object's repr: "<urllib3.connection...>: Failed to establish ..."
    return text.split(">: ", 1)[-1] if text.startswith("<") else text


def _transport_error(error: requests.RequestException | OSError, url: str, connection) -> CRMError:
    if isinstance(error, requests.exceptions.SSLError):
        return CRMError(
            _(
                "The TLS connection to %(url)s failed: %(reason)s. Check the CA certificate setting "
                "(currently: %(ca)s)."
            )
            % {"url": url, "reason": _root_cause(error), "ca": connection.ca_cert_path or _("system CAs")}
        )
    if isinstance(error, requests.exceptions.Timeout):
        return CRMError(_("%(url)s did not answer in time: %(reason)s") % {"url": url, "reason": error})
    if isinstance(error, requests.RequestException):
        return CRMError(_("Could not reach %(url)s: %(reason)s") % {"url": url, "reason": _root_cause(error)})
    # requests raises OSError before connecting when the CA file cannot be read.
    return CRMError(
        _("Could not read the CA certificate %(path)s: %(reason)s")
        % {"path": connection.ca_cert_path, "reason": error}
    )


def obtain_token(connection: CRMConnection, session: requests.Session) -> dict:
    """Sign in at the connection's login URL with its grant; returns access_token and instance_url."""
    try:
        if connection.auth_flow == AuthFlow.PASSWORD:
            form = {
                "grant_type": "password",
                "client_id": connection.client_id,
                "client_secret": connection.client_secret,
                "username": connection.username,
                "password": connection.password,
            }
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": connection.client_id,
                "client_secret": connection.client_secret,
            }
    except crypto.UndecryptableSecret as unreadable:
        raise CRMError(
            _(
                "The stored credentials cannot be decrypted with the configured keys "
                "(PRM_CRM_ENCRYPTION_KEYS). Enter them again."
            )
        ) from unreadable
    url = f"{connection.login_url.rstrip('/')}/services/oauth2/token"
    try:
        response = session.post(url, data=form, timeout=TIMEOUT)
    except (requests.RequestException, OSError) as failure:
        raise _transport_error(failure, url, connection) from failure
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code in (400, 401) and isinstance(body, dict) and body.get("error"):
        raise CRMError(
            _("The CRM refused the credentials (%(error)s: %(description)s).")
            % {"error": body["error"], "description": body.get("error_description", "")}
        )
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise CRMError(
            _("The CRM's token endpoint %(url)s answered HTTP %(status)s: %(body)s")
            % {"url": url, "status": response.status_code, "body": response.text[:300]}
        )
    return {"access_token": body["access_token"], "instance_url": body["instance_url"]}


def connect(connection: CRMConnection, *, fresh: bool = False) -> Salesforce:
    """A simple-salesforce client for the connection, signed in with the cached token or a new one."""
    session = http_session(connection)
    key = _cache_key(connection)
    token = None if fresh else cache.get(key)
    if token is None:
        token = obtain_token(connection, session)
        cache.set(key, token, TOKEN_CACHE_SECONDS)
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=session,
        version=connection.api_version,
    )


def _api_error(error: SalesforceError) -> CRMError:
    content = error.content
    first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else None
    if first is not None:
        detail = f"{first.get('errorCode', '')}: {first.get('message', '')}"
    else:
        detail = str(content)[:300]
    return CRMError(
        _("The CRM answered HTTP %(status)s to %(url)s: %(detail)s")
        % {"status": error.status, "url": error.url, "detail": detail}
    )


def _translated(connection: CRMConnection, call: Callable[[Salesforce], T], *, fresh: bool) -> T:
    sf = connect(connection, fresh=fresh)
    try:
        return call(sf)
    except SalesforceExpiredSession:
        raise
    except SalesforceError as failure:
        raise _api_error(failure) from failure
    except (requests.RequestException, OSError) as failure:
        raise _transport_error(failure, sf.base_url, connection) from failure


def with_fresh_session(connection: CRMConnection, call: Callable[[Salesforce], T]) -> T:
    """Run `call(sf)`; when the session has expired, sign in again and run it once more. Errors: CRMError."""
    try:
        return _translated(connection, call, fresh=False)
    except SalesforceExpiredSession:
        forget_token(connection)
    try:
        return _translated(connection, call, fresh=True)
    except SalesforceExpiredSession as failure:
        raise _api_error(failure) from failure
