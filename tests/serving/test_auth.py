"""API keys: hashes only, roles, constant-time comparison against every stored hash, clear config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retain.errors import RetainError
from retain.settings import Settings
from serving.auth import KeyRing, add_key, hash_key, load_keyring


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_file_and_env_keys_with_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys_file = tmp_path / "keys.json"
    reader, admin = add_key(keys_file, "reader"), add_key(keys_file, "admin")
    monkeypatch.setenv("RETAIN_API_KEY_HASHES", json.dumps({"admin": [hash_key("from-env").upper()]}))
    ring = load_keyring(Settings(_env_file=None, api_keys_file=keys_file))  # type: ignore[call-arg]
    assert len(ring) == 3
    assert ring.role_of(reader) == "reader" and ring.role_of(admin) == "admin"
    assert ring.role_of("from-env") == "admin"
    for wrong in (None, "", reader[:-1], reader + "x", hash_key(reader)):
        assert ring.role_of(wrong) is None
    assert ring.allows("admin", "reader") and ring.allows("reader", "reader")
    assert not ring.allows("reader", "admin") and not ring.allows(None, "reader")


def test_a_key_in_both_roles_gets_the_higher(tmp_path: Path) -> None:
    digest = bytes.fromhex(hash_key("k"))
    assert KeyRing(((digest, "admin"), (digest, "reader"))).role_of("k") == "admin"


def test_every_hash_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls: list[bytes] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(b) or real(a, b))
    ring = load_keyring(settings(api_key_hashes={"reader": [hash_key(f"k{i}") for i in range(5)]}))
    assert ring.role_of("k0") == "reader"
    assert len(calls) == 5, "no early exit on the first match"


def test_no_keys_file_means_no_keys(tmp_path: Path) -> None:
    assert len(load_keyring(settings(api_keys_file=tmp_path / "absent.json"))) == 0


@pytest.mark.parametrize(("content", "message"), [
    ('{"owner": []}', "unknown role 'owner'"),
    ('{"reader": "abc"}', "reader must be a list"),
    ('{"reader": ["my-plain-key"]}', "not a SHA-256 hex digest"),
    ("[1, 2]", "expected an object"),
    ("{not json", "cannot read the API keys file"),
])
def test_bad_keys_files_are_named_errors(tmp_path: Path, content: str, message: str) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(content)
    with pytest.raises(RetainError, match=message) as error:
        load_keyring(settings(api_keys_file=keys_file))
    assert str(keys_file) in str(error.value)


def test_bad_env_hashes_are_named_errors() -> None:
    with pytest.raises(RetainError, match="RETAIN_API_KEY_HASHES: unknown role 'root'"):
        load_keyring(settings(api_key_hashes={"root": [hash_key("x")]}))


def test_add_key_keeps_existing_hashes(tmp_path: Path) -> None:
    keys_file = tmp_path / "sub" / "keys.json"
    keys = [add_key(keys_file, "reader") for _ in range(3)]
    assert len(set(keys)) == 3
    assert json.loads(keys_file.read_text()) == {"reader": [hash_key(k) for k in keys]}
    assert keys_file.stat().st_mode & 0o077 == 0, "the keys file is private to its owner"
