"""HTTP digest authentication (RFC 7616) as Opencast's capture agents speak it, without server state.

- The realm is Opencast's own (`REALM`), so a recorder configured for Opencast needs no change.
- Only HA1 = H(user:realm:password) is stored per agent, for MD5 (what Opencast and pyCA use) and
  SHA-256; the password itself never is.
- A nonce is `<issued epoch seconds>.<random>.<HMAC-SHA256(secret, issued.random)>`: any Lambda that
  knows the server secret can check it, none has to remember it. It is good for `NONCE_SECONDS`; an
  older one is *stale* (the client retries with the fresh nonce of the new challenge, as RFC 7616 says).
- A verified request is single use: the caller records `(nonce, nc)` with a conditional write, so the
  same Authorization header sent twice is refused (`replay_key`).

Everything here is pure: `now` is passed in, the secret too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qs, unquote

REALM = "Opencast"
"""Opencast's digest realm (etc/security/mh_default_org.xml); HA1 depends on it, so it never changes."""

NONCE_SECONDS = 300
"""How long a nonce is accepted after it was issued (Opencast's digest entry point uses 300 s)."""

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
"""Digest algorithms verified; challenges offer MD5, the one every Opencast agent implements."""

AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
"""Agent names: they are the digest user name and a URL path segment, so no ':' '"' '/' or spaces."""


def _hash(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode()).hexdigest()


def ha1(user: str, password: str, algorithm: str = "MD5", realm: str = REALM) -> str:
    """H(user:realm:password), the only thing stored per agent and algorithm."""
    return _hash(algorithm, f"{user}:{realm}:{password}")


def ha1_all(user: str, password: str) -> dict[str, str]:
    """HA1 for every supported algorithm."""
    return {algorithm: ha1(user, password, algorithm) for algorithm in ALGORITHMS}


class NonceCheck(Enum):
    """What a presented nonce is: ours and fresh, ours but too old, or not ours at all."""

    FRESH = "fresh"
    STALE = "stale"
    INVALID = "invalid"


def _mac(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()[:32]


def new_nonce(secret: bytes, now: float) -> str:
    """A signed nonce issued at `now` (epoch seconds); the random part makes every one unique."""
    body = f"{int(now)}.{secrets.token_hex(8)}"
    return f"{body}.{_mac(secret, body)}"


def check_nonce(secret: bytes, nonce: str, now: float, lifetime: int = NONCE_SECONDS) -> NonceCheck:
    """Whether `nonce` was signed with `secret` and issued within `lifetime` seconds before `now`.

    A nonce from the future (beyond a minute of clock skew between Lambdas) is invalid, not fresh.
    """
    parts = nonce.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        return NonceCheck.INVALID
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, body), parts[2]):
        return NonceCheck.INVALID
    age = now - int(parts[0])
    if age < -60:
        return NonceCheck.INVALID
    return NonceCheck.FRESH if age <= lifetime else NonceCheck.STALE


def challenge(nonce: str, stale: bool = False, realm: str = REALM) -> str:
    """The `WWW-Authenticate` value of a 401, as Opencast (Spring Security) sends it."""
    value = f'Digest realm="{realm}", qop="auth", nonce="{nonce}", algorithm=MD5'
    return value + (", stale=true" if stale else "")


@dataclass(frozen=True)
class Credentials:
    """The fields of an `Authorization: Digest ...` header that verification needs."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    algorithm: str = "MD5"


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def parse_authorization(header: str | None) -> Credentials | None:
    """The digest credentials in an Authorization header, or None when it is absent, not digest or broken."""
    if not header or len(header) > 4096:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            return None
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[name] = value
        position = match.end()
    required = ("username", "realm", "nonce", "uri", "response")
    if any(not params.get(name) for name in required):
        return None
    algorithm = params.get("algorithm", "MD5").upper().replace("SHA256", "SHA-256")
    if algorithm not in ALGORITHMS:
        return None
    qop = params.get("qop")
    if qop is not None and (qop != "auth" or not params.get("nc") or not params.get("cnonce")):
        return None  # auth-int is not offered; auth needs nc and cnonce (RFC 7616 §3.4)
    return Credentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        qop=qop,
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
        algorithm=algorithm,
    )


def expected_response(credentials: Credentials, method: str, stored_ha1: str) -> str:
    """The response a client knowing the password computes for this request (RFC 7616 §3.4.1)."""
    algorithm = credentials.algorithm
    ha2 = _hash(algorithm, f"{method.upper()}:{credentials.uri}")
    if credentials.qop == "auth":
        text = f"{stored_ha1}:{credentials.nonce}:{credentials.nc}:{credentials.cnonce}:auth:{ha2}"
    else:
        text = f"{stored_ha1}:{credentials.nonce}:{ha2}"  # RFC 2069 compatibility (no qop)
    return _hash(algorithm, text)


def response_matches(credentials: Credentials, method: str, stored_ha1: str) -> bool:
    """Whether the client's response proves it knows the password behind `stored_ha1` (constant time)."""
    return hmac.compare_digest(expected_response(credentials, method, stored_ha1), credentials.response)


def uri_matches(credentials: Credentials, path: str, query: dict[str, list[str]]) -> bool:
    """Whether the digest `uri` names this request: the same path (decoded) and the same query parameters.

    Behind API Gateway the client's path may carry a stage or base path (`/api/recordings/...`) that the
    function does not see, so the uri's path must *end* with the request's path. The query is compared
    parsed, because Lambda never sees the raw query string.
    """
    uri_path, _, uri_query = credentials.uri.partition("?")
    uri_path, path = unquote(uri_path), unquote(path)
    same_query = parse_qs(uri_query, keep_blank_values=True) == {k: list(v) for k, v in query.items()}
    return (uri_path == path or uri_path.endswith(path)) and same_query


def replay_key(credentials: Credentials) -> str:
    """What makes one verified request unique: a second request with the same key is a replay."""
    return f"{credentials.nonce}#{credentials.nc or '-'}#{credentials.cnonce or '-'}"
