"""Signing license certificates (D22) with Ed25519 keys that rotate (D23).

The only module that holds a private key. It signs with PyJWT (JWS compact form, `alg`
EdDSA, RFC 8037) and publishes the public halves as JWKs whose `kid` is the RFC 7638
thumbprint, so any standard JOSE library verifies a certificate. Key material comes from
the settings as PEM text; nothing here writes a key anywhere but the file an operator names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

ALGORITHM = "EdDSA"
EXTENSION = "license_signer"
_PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+?-----END PUBLIC KEY-----")


class BadKeyMaterial(ValueError):
    """Key material that is not what it should be; the message never holds the material."""


@dataclass(frozen=True)
class PublicJwk:
    """One published public key (RFC 8037 OKP JWK)."""

    x: str
    kid: str
    kty: str = "OKP"
    crv: str = "Ed25519"
    use: str = "sig"
    alg: str = ALGORITHM


class Signer(Protocol):
    """What the services need: sign claims, and the public keys to publish."""

    @property
    def kid(self) -> str: ...

    @property
    def issuer(self) -> str: ...

    def sign(self, claims: Mapping[str, object]) -> str: ...

    def public_keys(self) -> tuple[PublicJwk, ...]: ...


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: Ed25519PublicKey) -> PublicJwk:
    """The JWK of a public key; `kid` is its RFC 7638 thumbprint."""
    x = _b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    return PublicJwk(x=x, kid=thumbprint(x))


def thumbprint(x: str) -> str:
    """RFC 7638: SHA-256 of the required members (crv, kty, x) in order, no whitespace."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(members.encode("ascii")).digest())


class Ed25519Signer:
    """The current private key, the public keys of retired ones still published (D23), and
    the issuer (`iss`) its certificates name."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        retired: Sequence[Ed25519PublicKey] = (),
        *,
        issuer: str = "licensing",
    ) -> None:
        self._private_key = private_key
        self.issuer = issuer
        current = public_jwk(private_key.public_key())
        others = [public_jwk(key) for key in retired]
        self._public = (current, *(jwk for jwk in others if jwk.kid != current.kid))
        self._headers = {"kid": current.kid, "typ": "JWT"}

    @classmethod
    def from_pem(
        cls, private_pem: str, retired_pems: Sequence[str] = (), *, issuer: str = "licensing"
    ) -> Ed25519Signer:
        retired = [load_public_key(pem) for pem in retired_pems]
        return cls(load_private_key(private_pem), retired, issuer=issuer)

    def __repr__(self) -> str:  # never the key itself
        return f"Ed25519Signer(kid={self.kid!r})"

    @property
    def kid(self) -> str:
        return self._public[0].kid

    def sign(self, claims: Mapping[str, object]) -> str:
        """D22: a JWS compact JWT; its header names the signing key (D23)."""
        return jwt.encode(
            dict(claims), self._private_key, algorithm=ALGORITHM, headers=self._headers
        )

    def public_keys(self) -> tuple[PublicJwk, ...]:
        """D23: the current key first, then each retired key still published."""
        return self._public


def current_signer() -> Signer:
    """The signer `create_app` built from the settings."""
    return current_app.extensions[EXTENSION]


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """A PEM Ed25519 private key (PKCS#8, unencrypted), or BadKeyMaterial without echoing it."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise BadKeyMaterial("is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKeyMaterial("is a PEM private key, but not an Ed25519 one")
    return key


def load_public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise BadKeyMaterial("holds text that is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadKeyMaterial("holds a PEM public key that is not an Ed25519 one")
    return key


def split_public_pems(text: str) -> list[str]:
    """Each `PUBLIC KEY` block of a file; anything else in it (a private key) is refused."""
    blocks = _PUBLIC_PEM.findall(text)
    rest = _PUBLIC_PEM.sub("", text)
    if "-----BEGIN" in rest:
        raise BadKeyMaterial("holds a PEM block that is not a public key (only public keys belong)")
    return blocks


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def write_new_private_key(path: Path) -> Ed25519PrivateKey:
    """A new key in a new file readable by its owner only (0600); an existing file is kept
    (FileExistsError), so that a key in use is never overwritten."""
    key = Ed25519PrivateKey.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(private_pem(key))
    return key
