"""The node's secret key: it encrypts the tokens we call partners with and signs
the console's session cookies, so that a copy of the database alone cannot act
as us (docs/security.md).

Where it comes from: ``OCPI_SECRET_KEY`` (one Fernet key, or several separated by
commas, the first encrypting and all decrypting, as during a rotation), else the
key file named by ``OCPI_SECRET_KEY_FILE``, else ``~/.config/ocpi/secret.key``;
a missing key file is created with owner-only permissions.
"""

import base64
import hashlib
import hmac
import os
import stat
import time
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ENV = "OCPI_SECRET_KEY"
KEY_FILE_ENV = "OCPI_SECRET_KEY_FILE"


class SecretKeyError(RuntimeError):
    """The key is missing, malformed, readable by others, or not the one the data needs."""


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ocpi" / "secret.key"


class SecretKey:
    """One or more Fernet keys; the first encrypts and signs, all decrypt."""

    def __init__(self, keys: list[bytes], source: str, created: bool = False) -> None:
        if not keys:
            raise SecretKeyError(f"no secret key in {source}")
        try:
            self._fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(f"the secret key from {source} is not a Fernet key "
                                 "(32 url-safe base64-encoded bytes)") from exc
        self._keys = list(keys)
        self._multi = MultiFernet(self._fernets)
        self.source = source
        self.created = created  # the key file was made just now: the operator must hear of it
        # a separate key for signing, derived so a cookie never doubles as a ciphertext
        self._signing = hmac.new(base64.urlsafe_b64decode(keys[0]), b"ocpi console cookie",
                                 hashlib.sha256).digest()

    def encrypt(self, text: str) -> str:
        return self._multi.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise self._wrong() from exc

    def rotate(self, token: str) -> str:
        """``token`` sealed again under the first key (it may open with any)."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise self._wrong() from exc

    def _wrong(self) -> "SecretKeyError":
        return SecretKeyError(f"a stored secret does not open with the key from "
                              f"{self.source}: wrong key?")

    def opens(self, token: str) -> bool:
        try:
            self._multi.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def first_of(self, older: "SecretKey") -> "SecretKey":
        """This key first, then ``older``'s: what a rotation seals with and opens with."""
        return SecretKey(self._keys + older._keys, f"{self.source} (new) and {older.source}")

    def sign(self, payload: str) -> str:
        """``payload`` (no ``.``), a time stamp and their MAC: ``unsign`` checks all three."""
        body = f"{payload}.{int(time.time())}"
        mac = hmac.new(self._signing, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def unsign(self, signed: str, max_age: float) -> str | None:
        """The payload of a value ``sign`` made within ``max_age`` seconds, else None."""
        parts = signed.rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        body = f"{parts[0]}.{parts[1]}"
        mac = hmac.new(self._signing, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, parts[2]):
            return None
        if time.time() - int(parts[1]) > max_age:
            return None
        return parts[0]


def generate() -> str:
    return Fernet.generate_key().decode()


def _create(path: Path) -> bool:
    """A new key at ``path``, owner-only; False when another process made it first.
    Written aside and linked into place, so no process reads half a key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(generate() + "\n")
        os.link(aside, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create it in place
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate() + "\n")
    finally:
        aside.unlink(missing_ok=True)
    return True


def _from_file(path: Path, create: bool) -> tuple[list[bytes], str, bool]:
    created = False
    if not create and not path.exists():
        raise SecretKeyError(f"no secret key: set {KEY_ENV}, or {KEY_FILE_ENV} to a key "
                             f"file, or create {path} (`ocpi serve` makes it at first start)")
    try:
        if not path.exists():
            created = _create(path)
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretKeyError(f"the key file {path} is open to its group or others "
                                 f"(mode {oct(mode & 0o777)}); chmod 600 it")
        text = path.read_text()
    except OSError as exc:
        raise SecretKeyError(f"the key file {path} cannot be made or read: "
                             f"{exc.strerror or exc}") from exc
    keys = [k.strip().encode() for k in text.replace(",", "\n").split() if k.strip()]
    return keys, str(path), created


def load(create: bool = True) -> SecretKey:
    """The key from the environment or the key file (created if ``create``)."""
    raw = os.environ.get(KEY_ENV)
    if raw:
        return SecretKey([k.strip().encode() for k in raw.split(",") if k.strip()], KEY_ENV)
    return load_file(Path(os.environ.get(KEY_FILE_ENV) or default_key_file()), create)


def load_file(path: Path, create: bool = True) -> SecretKey:
    """The key (or keys, one a line) in ``path``, created there if missing and ``create``."""
    keys, source, created = _from_file(path, create)
    return SecretKey(keys, source, created)


@lru_cache(maxsize=8)
def _cached(env: str | None, file: str | None) -> SecretKey:
    return load()


def current() -> SecretKey:
    """This process's key, read once per setting (tests change the setting)."""
    return _cached(os.environ.get(KEY_ENV), os.environ.get(KEY_FILE_ENV))
