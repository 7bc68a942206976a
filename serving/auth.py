"""API keys: two roles, stored only as SHA-256 hashes, compared in constant time.

Keys come from a JSON file (`{"reader": [hex, ...], "admin": [hex, ...]}`, written by `retain api-key`) and/or
the `RETAIN_API_KEY_HASHES` setting of the same shape. A caller sends the key itself as `X-API-Key`; the
service hashes it and compares the digest with every stored hash (no early exit), so timing says nothing about
which key or how much of it matched. An admin key may do everything a reader key may. Keys are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retain.errors import RetainError
from retain.settings import Settings
from retain.storage import atomic_write

Role = Literal["reader", "admin"]
ROLES: tuple[Role, ...] = ("reader", "admin")
RANK: dict[str, int] = {"reader": 1, "admin": 2}
HEADER = "X-API-Key"
KEY_BYTES = 32
_HEX = re.compile(r"[0-9a-f]{64}")


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """Every accepted key hash with its role."""

    entries: tuple[tuple[bytes, Role], ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def role_of(self, key: str | None) -> Role | None:
        """The highest role of a matching hash, or None; compares against every entry, whatever matches."""
        if not key:
            return None
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found: Role | None = None
        for stored, role in self.entries:
            if hmac.compare_digest(digest, stored) and (found is None or RANK[role] > RANK[found]):
                found = role
        return found

    def allows(self, role: Role | None, required: Role) -> bool:
        return role is not None and RANK[role] >= RANK[required]


def _parse(hashes: Mapping[str, object], source: str) -> list[tuple[bytes, Role]]:
    if not isinstance(hashes, Mapping):
        raise RetainError(f"{source}: expected an object like {{\"reader\": [...], \"admin\": [...]}}")
    entries: list[tuple[bytes, Role]] = []
    for role, values in hashes.items():
        if role not in ROLES:
            raise RetainError(f"{source}: unknown role {role!r}; roles are {', '.join(ROLES)}")
        if not isinstance(values, Sequence) or isinstance(values, str):
            raise RetainError(f"{source}: {role} must be a list of SHA-256 hex digests")
        for value in values:
            text = str(value).strip().lower()
            if not _HEX.fullmatch(text):
                raise RetainError(f"{source}: {role} holds {str(value)[:12]!r}..., not a SHA-256 hex digest "
                                  "(store hashes, never keys: `retain api-key` writes them)")
            entries.append((bytes.fromhex(text), role))  # type: ignore[arg-type]
    return entries


def read_keys_file(path: Path) -> dict[str, list[str]]:
    """The hashes in a keys file; a missing file holds none."""
    if not path.is_file():
        return {}
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RetainError(f"{path}: cannot read the API keys file: {error}") from None
    _parse(stored, str(path))
    return {role: [str(h).strip().lower() for h in stored.get(role, [])] for role in ROLES if role in stored}


def load_keyring(settings: Settings) -> KeyRing:
    """The keys of the settings: the keys file (if any) plus `api_key_hashes`."""
    entries: list[tuple[bytes, Role]] = []
    if settings.api_keys_file is not None:
        entries += _parse(read_keys_file(Path(settings.api_keys_file)), str(settings.api_keys_file))
    entries += _parse(settings.api_key_hashes, "RETAIN_API_KEY_HASHES")
    return KeyRing(tuple(entries))


def add_key(path: Path, role: Role) -> str:
    """Make a new random key for `role`, append its hash to the keys file (atomically); return the key."""
    if role not in ROLES:
        raise RetainError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    path = Path(path)
    stored = read_keys_file(path)
    key = secrets.token_urlsafe(KEY_BYTES)
    stored.setdefault(role, []).append(hash_key(key))
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(stored, indent=2) + "\n"))
    return key
