"""Console sessions and CSRF tokens.

A session is a signed, expiring cookie (`itsdangerous`): a random session id and, once signed in, the SHA-256
hash of the API key used (never the key). Every request looks the hash up in the served key ring again, so a
key removed from the keys file ends its sessions at the next reload. A visitor who is not signed in still gets
a session (without a key) when the login page is shown, so the login form carries a CSRF token too; signing in
issues a new session id (no session fixation).

A form's CSRF token is an HMAC of the session id under the same secret: a page from another site can neither
read it nor compute it. The secret is `RETAIN_SESSION_SECRET`, or a random one generated once and kept in
`session_secret` beside the keys file (mode 0600), so sessions survive a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from retain.errors import RetainError
from retain.settings import Settings

COOKIE = "retain_session"
SECRET_FILE = "session_secret"
SECRET_BYTES = 32


@dataclass(frozen=True)
class Session:
    sid: str
    key_hash: str | None = None  # SHA-256 hex of the API key signed in with; None before sign-in

    @classmethod
    def fresh(cls, key_hash: str | None = None) -> Session:
        return cls(secrets.token_urlsafe(18), key_hash)


class Sessions:
    """Reads and writes session cookies and makes and checks CSRF tokens, under one secret."""

    def __init__(self, secret: bytes, max_age_seconds: int) -> None:
        self._secret = secret
        self.max_age_seconds = max_age_seconds
        self._serializer = URLSafeTimedSerializer(secret, salt="retain-console-session")

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie holds, or None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        key_hash = data.get("key")
        return Session(data["sid"], key_hash if isinstance(key_hash, str) else None)

    def cookie_value(self, session: Session) -> str:
        return self._serializer.dumps({"sid": session.sid, "key": session.key_hash})

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._secret, b"csrf:" + session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def secret_path(settings: Settings) -> Path:
    folder = Path(settings.api_keys_file).parent if settings.api_keys_file is not None else settings.home
    return folder / SECRET_FILE


def session_secret(settings: Settings) -> bytes:
    """The settings' secret, or the one kept beside the keys file (created once, mode 0600, atomically: two
    processes starting together end up with the same secret)."""
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value().encode()
    path = secret_path(settings)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(SECRET_BYTES) + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs is used
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    text = path.read_text().strip()
    if len(text) < 32:
        raise RetainError(f"{path}: the console's session secret is too short; delete the file to make a new one")
    return text.encode()
