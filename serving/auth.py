"""API keys: two roles, stored only as SHA-256 hashes, compared in constant time.

Keys come from a JSON file (`{"reader": [hex, ...], "admin": [hex, ...]}`, written by `retain api-key`) and/or
the `RETAIN_API_KEY_HASHES` setting of the same shape. A key may have a name (`retain api-key --name`), kept in
the file's optional `"names": {hex: name}` (files without it still load); a key without one is called
`key-` and the first 8 hex digits of its hash. Names say who recorded an outreach; they are not secrets.

A caller sends the key itself as `X-API-Key`; the service hashes it and compares the digest with every stored
hash (no early exit), so timing says nothing about which key or how much of it matched. An admin key may do
everything a reader key may. Keys are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
NAMES = "names"
MAX_NAME_LENGTH = 100


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def default_name(digest: bytes) -> str:
    return f"key-{digest.hex()[:8]}"


@dataclass(frozen=True)
class KeyRing:
    """Every accepted key hash with its role, and the names of those that have one."""

    entries: tuple[tuple[bytes, Role], ...] = ()
    names: Mapping[bytes, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def role_of(self, key: str | None) -> Role | None:
        """The highest role of a matching hash, or None; compares against every entry, whatever matches."""
        if not key:
            return None
        return self._role_of_digest(hashlib.sha256(key.encode("utf-8")).digest())

    def _role_of_digest(self, digest: bytes) -> Role | None:
        found: Role | None = None
        for stored, role in self.entries:
            if hmac.compare_digest(digest, stored) and (found is None or RANK[role] > RANK[found]):
                found = role
        return found

    def identify(self, key: str | None) -> tuple[Role, str, str] | None:
        """The role, name and hash (hex) of a known key, or None (compared as in `role_of`)."""
        role = self.role_of(key)
        if role is None or key is None:
            return None
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return role, self.name_of(digest), digest.hex()

    def role_of_hash(self, digest_hex: str) -> Role | None:
        """The highest role of a stored hash (for a session that keeps the hash, never the key)."""
        try:
            digest = bytes.fromhex(digest_hex)
        except ValueError:
            return None
        return self._role_of_digest(digest) if len(digest) == hashlib.sha256().digest_size else None

    def name_of(self, digest: bytes) -> str:
        return self.names.get(digest) or default_name(digest)

    def allows(self, role: Role | None, required: Role) -> bool:
        return role is not None and RANK[role] >= RANK[required]


def _parse(hashes: Mapping[str, object], source: str) -> list[tuple[bytes, Role]]:
    if not isinstance(hashes, Mapping):
        raise RetainError(f"{source}: expected an object like {{\"reader\": [...], \"admin\": [...]}}")
    entries: list[tuple[bytes, Role]] = []
    for role, values in hashes.items():
        if role == NAMES:
            continue
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


def read_key_names(path: Path) -> dict[str, str]:
    """The names in a keys file by hash (hex); a file without names (or none at all) has none."""
    if not path.is_file():
        return {}
    try:
        names = json.loads(path.read_text()).get(NAMES, {})
    except (OSError, ValueError, AttributeError) as error:
        raise RetainError(f"{path}: cannot read the API keys file: {error}") from None
    if not isinstance(names, Mapping):
        raise RetainError(f"{path}: {NAMES} must be an object of SHA-256 hex digest -> name")
    return {str(h).strip().lower(): str(n) for h, n in names.items() if _HEX.fullmatch(str(h).strip().lower())}


def load_keyring(settings: Settings) -> KeyRing:
    """The keys of the settings: the keys file (if any) plus `api_key_hashes`."""
    entries: list[tuple[bytes, Role]] = []
    names: dict[bytes, str] = {}
    if settings.api_keys_file is not None:
        entries += _parse(read_keys_file(Path(settings.api_keys_file)), str(settings.api_keys_file))
        names = {bytes.fromhex(h): n for h, n in read_key_names(Path(settings.api_keys_file)).items()}
    entries += _parse(settings.api_key_hashes, "RETAIN_API_KEY_HASHES")
    return KeyRing(tuple(entries), names)


def add_key(path: Path, role: Role, name: str | None = None) -> str:
    """Make a new random key for `role`, append its hash (and its name, if given) to the keys file
    (atomically); return the key."""
    if role not in ROLES:
        raise RetainError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if name is not None and not 0 < len(name.strip()) <= MAX_NAME_LENGTH:
        raise RetainError(f"a key's name must be 1 to {MAX_NAME_LENGTH} characters")
    path = Path(path)
    stored: dict[str, object] = dict(read_keys_file(path))
    names = read_key_names(path)
    key = secrets.token_urlsafe(KEY_BYTES)
    digest = hash_key(key)
    stored.setdefault(role, []).append(digest)  # type: ignore[attr-defined]
    if name is not None:
        names[digest] = name.strip()
    if names:
        stored[NAMES] = names
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(stored, indent=2) + "\n"))
    return key
