"""HTTP digest as recorders speak it: nonces any Lambda can check, responses, uris and replays."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.domain import digest
from chalicelib.domain.digest import Credentials, NonceCheck

SECRET = b"server-secret-for-tests"
NOW = 1_900_000_000.0


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def client_response(
    user: str, password: str, method: str, uri: str, nonce: str, algorithm: str = "MD5"
) -> str:
    """What curl computes for qop=auth (RFC 7616 §3.4.1), written out independently of the module."""
    h = hashlib.md5 if algorithm == "MD5" else hashlib.sha256
    ha1 = h(f"{user}:Opencast:{password}".encode()).hexdigest()
    ha2 = h(f"{method}:{uri}".encode()).hexdigest()
    return h(f"{ha1}:{nonce}:00000001:abc123:auth:{ha2}".encode()).hexdigest()


def header(
    user: str, password: str, nonce: str, uri: str = "/recordings/calendars?agentid=room1", **kw: str
) -> str:
    algorithm = kw.get("algorithm", "MD5")
    response = kw.get("response") or client_response(user, password, "GET", uri, nonce, algorithm)
    return (
        f'Digest username="{user}", realm="{kw.get("realm", "Opencast")}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", qop=auth, nc=00000001, cnonce="abc123", algorithm={algorithm}'
    )


def test_ha1_is_md5_of_user_realm_password_as_opencast_stores_it() -> None:
    assert digest.ha1("room1", "pw") == md5("room1:Opencast:pw")
    assert digest.ha1_all("room1", "pw")["SHA-256"] == hashlib.sha256(b"room1:Opencast:pw").hexdigest()


@pytest.mark.parametrize(
    "age, expected, why",
    [
        (0, NonceCheck.FRESH, "just issued"),
        (digest.NONCE_SECONDS, NonceCheck.FRESH, "the last second of its lifetime still counts"),
        (digest.NONCE_SECONDS + 1, NonceCheck.STALE, "older than its lifetime: stale, the client retries"),
        (-30, NonceCheck.FRESH, "another Lambda's clock a little ahead"),
        (-120, NonceCheck.INVALID, "issued far in the future: not something we signed now"),
    ],
)
def test_a_nonce_is_checked_by_its_signature_and_age_alone(age: int, expected: NonceCheck, why: str) -> None:
    nonce = digest.new_nonce(SECRET, NOW - age)
    assert digest.check_nonce(SECRET, nonce, NOW) is expected, why


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda n: n.replace(n.split(".")[0], str(int(n.split(".")[0]) + 100), 1), "a moved timestamp"),
        (lambda n: n[:-1] + ("0" if n[-1] != "0" else "1"), "a changed signature"),
        (lambda n: n.rsplit(".", 1)[0], "no signature"),
        (lambda n: "not-a-nonce", "garbage"),
        (lambda n: "", "empty"),
    ],
)
def test_a_forged_or_altered_nonce_is_invalid(mutate, why: str) -> None:
    nonce = digest.new_nonce(SECRET, NOW)
    assert digest.check_nonce(SECRET, mutate(nonce), NOW) is NonceCheck.INVALID, why


def test_another_deployments_nonce_is_invalid_here() -> None:
    assert digest.check_nonce(b"other secret", digest.new_nonce(SECRET, NOW), NOW) is NonceCheck.INVALID


def test_every_nonce_is_unique_even_within_one_second() -> None:
    assert len({digest.new_nonce(SECRET, NOW) for _ in range(50)}) == 50


@pytest.mark.parametrize(
    "password, algorithm, ok, why",
    [
        ("pw-right", "MD5", True, "the right password (MD5, what pyCA uses)"),
        ("pw-wrong", "MD5", False, "a wrong password"),
        ("pw-right", "SHA-256", True, "the right password with SHA-256"),
        ("pw-wrong", "SHA-256", False, "a wrong password with SHA-256"),
    ],
)
def test_the_response_proves_the_password(password: str, algorithm: str, ok: bool, why: str) -> None:
    nonce = digest.new_nonce(SECRET, NOW)
    credentials = digest.parse_authorization(header("room1", password, nonce, algorithm=algorithm))
    assert credentials is not None
    stored = digest.ha1("room1", "pw-right", algorithm)
    assert digest.response_matches(credentials, "GET", stored) is ok, why
    assert digest.response_matches(credentials, "POST", stored) is False, "the method is part of the proof"


@pytest.mark.parametrize(
    "value, why",
    [
        (None, "no header"),
        ("Bearer onair_key", "another scheme"),
        ('Digest username="a"', "fields missing"),
        (
            'Digest username="a", realm="Opencast", nonce="n", uri="/", response="r", qop=auth-int, nc=1, '
            'cnonce="c"',
            "auth-int is not offered",
        ),
        (
            'Digest username="a", realm="Opencast", nonce="n", uri="/", response="r", qop=auth',
            "auth without nc/cnonce",
        ),
        (
            'Digest username="a", realm="Opencast", nonce="n", uri="/", response="r", algorithm=SHA-512-256',
            "an algorithm we do not verify",
        ),
        ('Digest username="a", realm="Opencast", nonce="n", uri="/", response="r", ,,', "broken syntax"),
        ("Digest " + "x" * 5000, "absurdly long"),
    ],
)
def test_unusable_authorization_headers_parse_to_nothing(value: str | None, why: str) -> None:
    assert digest.parse_authorization(value) is None, why


def test_quoted_values_may_hold_commas_and_escaped_quotes() -> None:
    parsed = digest.parse_authorization(
        'Digest username="room\\"1", realm="Opencast", nonce="n", uri="/a?x=1,2", response="ABC"'
    )
    assert parsed == Credentials('room"1', "Opencast", "n", "/a?x=1,2", "abc")


@pytest.mark.parametrize(
    "uri, path, query, ok, why",
    [
        (
            "/recordings/calendars?agentid=a&cutoff=1",
            "/recordings/calendars",
            {"agentid": ["a"], "cutoff": ["1"]},
            True,
            "same path and query",
        ),
        (
            "/api/recordings/calendars?agentid=a",
            "/recordings/calendars",
            {"agentid": ["a"]},
            True,
            "API Gateway's stage prefix",
        ),
        (
            "/recordings/calendars?agentid=b",
            "/recordings/calendars",
            {"agentid": ["a"]},
            False,
            "another query",
        ),
        ("/capture-admin/agents/a", "/recordings/calendars", {}, False, "another resource"),
        (
            "/capture-admin/agents/pyca%40host",
            "/capture-admin/agents/pyca@host",
            {},
            True,
            "percent-encoding is not a difference",
        ),
    ],
)
def test_the_uri_must_name_this_request(uri: str, path: str, query: dict, ok: bool, why: str) -> None:
    credentials = Credentials("a", "Opencast", "n", uri, "r")
    assert digest.uri_matches(credentials, path, query) is ok, why


def test_the_replay_key_differs_per_request_of_one_nonce() -> None:
    base = Credentials("a", "Opencast", "n", "/", "r", "auth", "00000001", "c1")
    again = Credentials("a", "Opencast", "n", "/", "r", "auth", "00000001", "c1")
    next_request = Credentials("a", "Opencast", "n", "/", "r", "auth", "00000002", "c1")
    assert digest.replay_key(base) == digest.replay_key(again), "a replayed header has the same key"
    assert digest.replay_key(base) != digest.replay_key(next_request), "curl's next request (nc+1) is new"


def test_the_challenge_is_opencasts_with_stale_when_the_nonce_expired() -> None:
    assert digest.challenge("n1") == 'Digest realm="Opencast", qop="auth", nonce="n1", algorithm=MD5'
    assert digest.challenge("n1", stale=True).endswith(", stale=true")
