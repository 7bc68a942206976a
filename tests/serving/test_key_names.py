"""Key names (`retain api-key --name`): kept in the keys file beside the hashes, old files without names still
load, and a key without a name is called after its hash."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from retain.errors import RetainError
from retain.settings import Settings
from serving.auth import add_key, hash_key, load_keyring
from tests.serving.test_cli import COMMAND, _environment


def _ring(file: Path):  # type: ignore[no-untyped-def]
    return load_keyring(Settings(_env_file=None, api_keys_file=file))  # type: ignore[call-arg]


def test_a_named_key_is_known_by_its_name_and_others_by_their_hash(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    named, plain = add_key(file, "reader", "  Ana Agent "), add_key(file, "admin")
    stored = json.loads(file.read_text())
    assert stored["names"] == {hash_key(named): "Ana Agent"} and named not in file.read_text()
    ring = _ring(file)
    assert ring.identify(named) == ("reader", "Ana Agent", hash_key(named))
    assert ring.identify(plain) == ("admin", f"key-{hash_key(plain)[:8]}", hash_key(plain))
    assert ring.identify("nope") is None and ring.role_of_hash(hash_key(plain)) == "admin"
    assert ring.role_of_hash("zz") is None and ring.role_of_hash("ab") is None


def test_an_old_keys_file_without_names_still_loads(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    file.write_text(json.dumps({"reader": [hash_key("old-key")]}))
    assert _ring(file).identify("old-key") == ("reader", f"key-{hash_key('old-key')[:8]}", hash_key("old-key"))
    add_key(file, "admin", "Bo")
    assert _ring(file).role_of("old-key") == "reader"


def test_a_name_must_not_be_empty_or_long(tmp_path: Path) -> None:
    for name in ("", "   ", "x" * 101):
        with pytest.raises(RetainError, match="name"):
            add_key(tmp_path / "keys.json", "reader", name)
    assert not (tmp_path / "keys.json").exists()


def test_the_command_line_takes_a_name(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    done = subprocess.run([*COMMAND, "api-key", "--role", "reader", "--name", "Cy", "--keys-file", str(file)],
                          cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(file.read_text())["names"] == {hash_key(done.stdout.strip()): "Cy"}
