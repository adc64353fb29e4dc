"""Single sign-on's rules that need no server (docs/security/sso.md): the PKCE challenge, the sealed sign-in and
session cookies, which role a person's claims give, and the provider's logout address."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from api.forms.conversations import TokenRole
from api.sso import SsoSession, role_of, sso_subject
from core.oidc import ATTEMPT_TTL, LoginAttempt, OidcError, ProviderMetadata, RelyingParty
from core.settings import Settings

KEY = secrets.token_bytes(32)


def test_the_code_challenge_is_rfc_7636s_s256() -> None:
    attempt = LoginAttempt(
        state="s", nonce="n", code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", expires_at=0
    )
    assert attempt.code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_sealed_attempt_opens_with_its_key_and_hides_what_it_carries() -> None:
    attempt = LoginAttempt.new(now=1000)
    sealed = attempt.seal(key_id="k1", key=KEY)
    assert sealed.startswith("k1.")
    for secret in (attempt.state, attempt.nonce, attempt.code_verifier):
        assert secret not in sealed
    assert LoginAttempt.unseal(sealed, key_for={"k1": KEY}.__getitem__, now=1000) == attempt
    assert attempt.expires_at == 1000 + ATTEMPT_TTL


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1], id="changed"),
        pytest.param(lambda s: "k2" + s[2:], id="relabelled-to-another-key"),
        pytest.param(lambda s: "k1.", id="empty"),
        pytest.param(lambda s: "garbage", id="garbage"),
    ],
)
def test_a_spoiled_attempt_does_not_open(spoil) -> None:  # type: ignore[no-untyped-def]
    sealed = LoginAttempt.new(now=1000).seal(key_id="k1", key=KEY)
    keys = {"k1": KEY, "k2": secrets.token_bytes(32)}
    with pytest.raises(OidcError, match="expired or was started in another browser"):
        LoginAttempt.unseal(spoil(sealed), key_for=keys.__getitem__, now=1000)


def test_an_attempt_expires() -> None:
    sealed = LoginAttempt.new(now=1000).seal(key_id="k1", key=KEY)
    with pytest.raises(OidcError, match="expired"):
        LoginAttempt.unseal(sealed, key_for={"k1": KEY}.__getitem__, now=1001 + ATTEMPT_TTL)


def test_the_state_must_be_the_attempts() -> None:
    attempt = LoginAttempt.new()
    attempt.check_state(attempt.state)
    for other in (None, "", attempt.state + "x", dataclasses.replace(attempt, state="other").state):
        with pytest.raises(OidcError, match="does not belong"):
            attempt.check_state(other)


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("configured", "claims", "role"),
    [
        ({}, {"roles": ["agent"]}, TokenRole.WORKER),
        ({}, {"roles": ["agent", "supervisor"]}, TokenRole.SUPERVISOR),
        ({}, {"roles": "supervisor"}, TokenRole.SUPERVISOR),
        ({}, {"roles": ["admin"]}, None),
        ({}, {}, None),
        ({}, {"roles": [1, None]}, None),
        ({"sso_agent_roles": ""}, {}, TokenRole.WORKER),
        (
            {"sso_role_claim": "groups", "sso_agent_roles": "cc-agents", "sso_supervisor_roles": "cc-leads,cc-admins"},
            {"groups": ["staff", "cc-admins"], "roles": ["agent"]},
            TokenRole.SUPERVISOR,
        ),
        ({"sso_role_claim": "groups", "sso_agent_roles": "cc-agents"}, {"groups": "staff cc-agents"}, TokenRole.WORKER),
        ({"sso_role_claim": "groups", "sso_agent_roles": "cc-agents"}, {"roles": ["agent"]}, None),
    ],
)
def test_the_role_claim_decides_the_role(configured: dict[str, str], claims: dict[str, object], role: object) -> None:
    assert role_of(claims, settings(**configured)) == role


SESSION = SsoSession(subject="u-1", email="ann@example.com", signed_in_at=1000, ends_at=2000, id_token="a.b.c")


def test_a_sealed_session_opens_with_its_key_until_it_ends_and_hides_who_it_is() -> None:
    sealed = SESSION.seal(key_id="k1", key=KEY)
    assert sealed.startswith("k1.") and "ann" not in sealed and "u-1" not in sealed
    assert SsoSession.unseal(sealed, key_for={"k1": KEY}.__getitem__, now=1999) == SESSION
    assert SsoSession.unseal(sealed, key_for={"k1": KEY}.__getitem__, now=2000) is None
    assert SsoSession.unseal(sealed, key_for={"k1": secrets.token_bytes(32)}.__getitem__, now=1000) is None
    assert SsoSession.unseal(sealed[:-2] + "AA", key_for={"k1": KEY}.__getitem__, now=1000) is None


def test_a_sign_in_attempt_does_not_open_as_a_session_nor_a_session_as_an_attempt() -> None:
    attempt = LoginAttempt.new(now=1000).seal(key_id="k1", key=KEY)
    assert SsoSession.unseal(attempt, key_for={"k1": KEY}.__getitem__, now=1000) is None
    with pytest.raises(OidcError):
        LoginAttempt.unseal(SESSION.seal(key_id="k1", key=KEY), key_for={"k1": KEY}.__getitem__, now=1000)


def test_a_session_whose_id_token_would_overflow_the_cookie_is_kept_without_it() -> None:
    big = dataclasses.replace(SESSION, id_token="x" * 4000)
    sealed = big.seal(key_id="k1", key=KEY)
    assert len(sealed) < 4000
    assert SsoSession.unseal(sealed, key_for={"k1": KEY}.__getitem__, now=1000) == dataclasses.replace(
        SESSION, id_token=None
    )


def test_only_a_token_with_the_single_sign_on_grant_names_a_subject() -> None:
    def token(grants: object) -> str:
        return jwt.encode({"exp": 1, "grants": grants}, "k" * 32, algorithm="HS256")

    assert sso_subject(token({"identity": "ann", "sso": {"sub": "u-1"}})) == "u-1"
    for grants in ({"identity": "ann"}, {"sso": "u-1"}, {"sso": {"sub": ""}}, {"sso": {"sub": 7}}, []):
        assert sso_subject(token(grants)) is None
    assert sso_subject("not a token") is None


def metadata(**document: str) -> ProviderMetadata:
    base = {
        "issuer": "https://idp.example",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
        "jwks_uri": "https://idp.example/jwks",
    }
    return ProviderMetadata.parse(base | document, expected_issuer="https://idp.example")


def test_the_logout_goes_to_the_end_session_endpoint_with_the_hint_and_the_client() -> None:
    party = RelyingParty(
        issuer="https://idp.example", client_id="desk", client_secret=None, redirect_uri="x", scopes="openid"
    )

    async def logout(found: ProviderMetadata, hint: str | None) -> str | None:
        async def known() -> ProviderMetadata:
            return found

        party.metadata = known  # type: ignore[method-assign]
        return await party.logout_url(post_logout_redirect_uri="https://parley.example/agent/", id_token_hint=hint)

    assert metadata().end_session_endpoint is None
    assert asyncio.run(logout(metadata(), "a.b.c")) is None
    url = asyncio.run(logout(metadata(end_session_endpoint="https://idp.example/logout?tenant=t"), "a.b.c"))
    assert url is not None and url.startswith("https://idp.example/logout?tenant=t&")
    assert {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} == {
        "tenant": "t",
        "id_token_hint": "a.b.c",
        "client_id": "desk",
        "post_logout_redirect_uri": "https://parley.example/agent/",
    }
    without = asyncio.run(logout(metadata(end_session_endpoint="https://idp.example/logout"), None))
    assert without is not None and "id_token_hint" not in without
