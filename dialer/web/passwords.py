"""Agents' sign-in secrets, hashed with scrypt (the standard library's ``hashlib.scrypt``).

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``, so that stronger parameters
can be chosen later without invalidating the hashes already stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: scrypt's cost parameters: n=2**14, r=8 takes ~16 MiB and ~50 ms per check on a server core.
N, R, P = 2**14, 8, 1
MIN_LENGTH = 8
MAX_LENGTH = 256


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def hash_password(secret: str) -> str:
    """A new hash of ``secret`` with a random salt."""
    if not MIN_LENGTH <= len(secret) <= MAX_LENGTH:
        raise ValueError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    salt = secrets.token_bytes(16)
    return f"scrypt${N}${R}${P}${salt.hex()}${_derive(secret, salt, N, R, P).hex()}"


def verify_password(secret: str, stored: str | None) -> bool:
    """Whether ``secret`` matches the ``stored`` hash; false for no hash or one this code cannot read."""
    if not stored or len(secret) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(secret, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, bytes.fromhex(digest))
    except ValueError:
        return False
