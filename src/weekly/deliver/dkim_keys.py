"""DKIM keys: generate a 2048-bit RSA pair, load the private half, and write the DNS TXT
record that publishes the public half."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from weekly.config import Config, load_config
from weekly.errors import LocatedError, WeeklyError
from weekly.files import write_file

KEY_BITS = 2048
# A DNS TXT record is made of strings of at most 255 characters each.
TXT_CHUNK = 255


class DkimKeyError(LocatedError):
    """The DKIM key file is unreadable or not a usable RSA key."""


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in the PEM file at `path`, at least 2048 bits."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(path, f"cannot read the DKIM key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(path, f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise DkimKeyError(path, f"the DKIM key must be RSA of at least {KEY_BITS} bits")
    return key


def key_path(config: Config) -> Path:
    """The private key file `[dkim] key_file` names, relative to the newsletter's folder."""
    return config.root / config.dkim.key_file


def public_key_base64(key: rsa.RSAPrivateKey) -> str:
    """The p= value: the public key as base64 DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def txt_value(key: rsa.RSAPrivateKey) -> str:
    """What the TXT record holds, as one string."""
    return f"v=DKIM1; k=rsa; p={public_key_base64(key)}"


@dataclass(frozen=True)
class KeyPair:
    """A written key file and the record to publish for it."""

    path: Path
    name: str  # selector._domainkey.domain.
    value: str

    def zone_line(self) -> str:
        """The record in zone-file syntax, split into strings DNS accepts."""
        chunks = [self.value[i : i + TXT_CHUNK] for i in range(0, len(self.value), TXT_CHUNK)]
        quoted = " ".join(f'"{chunk}"' for chunk in chunks)
        return f"{self.name} IN TXT ( {quoted} )"


def _settings(root: Path) -> tuple[Path, str]:
    """The configured key file and the DNS name its public half is published under."""
    config = load_config(root)
    settings = config.dkim
    if not settings.enabled:
        raise WeeklyError(f"{config.path}: set [dkim] domain, selector and key_file first")
    return key_path(config), f"{settings.selector}._domainkey.{settings.domain}."


def published(root: Path) -> KeyPair:
    """`weekly dkim record`: the TXT record for the key already in `[dkim] key_file`."""
    path, name = _settings(root)
    return KeyPair(path, name, txt_value(load_private_key(path)))


def generate(root: Path, *, force: bool = False) -> KeyPair:
    """`weekly dkim keygen`: write a new private key to `[dkim] key_file` (mode 0600)."""
    path, name = _settings(root)
    if path.exists() and not force:
        raise WeeklyError(f"{path}: a key is already there (pass --force to replace it)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_file(path, pem, mode=0o600)  # a private key: only its owner may read it
    return KeyPair(path, name, txt_value(key))
