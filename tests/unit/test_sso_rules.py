"""Single sign-on's rules that need no server (docs/security/sso.md): the PKCE challenge, the sealed sign-in
cookie, and which role a person's claims give."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from api.forms.conversations import TokenRole
from api.sso import role_of
from core.oidc import ATTEMPT_TTL, LoginAttempt, OidcError
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
