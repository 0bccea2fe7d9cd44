"""The numbers a real-name applicant gives (实名认证, Art. 23): checking, masking and keeping them.

- Checking: an 18-digit resident ID number (shape, date of birth and the GB 11643 check character
  of `codes.id_check_char`; credit codes are checked by `codes.uscc_error`, GB 32100) and a
  mainland mobile number, with the Chinese reason when one is wrong.
- Masking: the forms every page shows (110101********1234, 138****5678), as `pii.mask_value` masks.
- Keeping: ID and phone numbers are stored only as Fernet ciphertext under the PERSONAL_DATA_KEY
  setting (`make_cipher`; without the setting, the instance's own key file, `personal_data_key`);
  `decrypt` raises `KeyMismatch` when the key is not the one they were encrypted with.
- Identity digests: an HMAC-SHA256 of "kind:number" under a subkey derived from the personal-data
  key, the same for the same number under the same key (comparable, unlike the ciphertext; not
  reversible without the key, unlike a plain hash of a number this guessable).

Pure functions of their arguments and the cipher passed in; the workflow is in `realname`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from datetime import date
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .codes import id_check_char
from .errors import PortalError
from .pii import mask_value
from .vocab import N_, AccountKind

KEY_FILE = "personal_data_key"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")


class KeyMismatch(PortalError):
    """The stored ciphertext cannot be read with the configured key (a lost or changed key)."""

    status = 500


# -- the key and the cipher -------------------------------------------------------------------


def personal_data_key(instance: Path) -> str:
    """The instance's Fernet key for personal data, created on first use with owner-only
    permissions (used when PERSONAL_DATA_KEY is not set)."""
    path = instance / KEY_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode("ascii"))
    return path.read_text().strip()


class PersonalDataCipher(Fernet):
    """A Fernet cipher that also holds the key of identity digests, derived from its own key."""

    def __init__(self, key: str | bytes) -> None:
        super().__init__(key)
        self.identity_key = _derive_identity_key(base64.urlsafe_b64decode(key))


def make_cipher(key: str | bytes) -> PersonalDataCipher:
    """The cipher of `key`; ValueError with a Chinese message when it is not a Fernet key."""
    try:
        return PersonalDataCipher(key)
    except (ValueError, TypeError) as error:
        raise ValueError("PERSONAL_DATA_KEY 不是有效的 Fernet 密钥（44 个字符的 URL 安全 Base64）") from error


def _derive_identity_key(fernet_key: bytes) -> bytes:
    """The digest subkey of the 32 bytes of a Fernet key: never the Fernet key itself."""
    return hmac.new(fernet_key, b"identity-digest", hashlib.sha256).digest()


def _identity_key(cipher: Fernet) -> bytes:
    if isinstance(cipher, PersonalDataCipher):
        return cipher.identity_key
    # A plain Fernet (made elsewhere than `make_cipher`): the same subkey, from the key it holds.
    return _derive_identity_key(cipher._signing_key + cipher._encryption_key)


def identity_digest(cipher: Fernet, kind: AccountKind, number: str) -> str:
    """The keyed hash (hex HMAC-SHA256) of an individual's ID number or an organisation's credit
    code, the same for the same number under the same key: what `realname.submit` compares."""
    text = f"{kind.value}:{number.strip().upper()}"
    return hmac.new(_identity_key(cipher), text.encode("utf-8"), hashlib.sha256).hexdigest()


def encrypt(cipher: Fernet, text: str) -> str:
    """`text` as Fernet ciphertext (ASCII), for a `*_token` column."""
    return cipher.encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(cipher: Fernet, token: str) -> str:
    """The plain text of a `*_token` column ("" for an empty one); KeyMismatch under another key."""
    if not token:
        return ""
    try:
        return cipher.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as error:
        raise KeyMismatch(N_("无法解密：个人信息密钥与加密时使用的不一致，请联系系统管理员")) from error


# -- checking and masking what an applicant gives ------------------------------------------------


def id_number_error(number: str) -> str | None:
    """Why `number` is not a resident ID number, in Chinese; None when it is one."""
    if len(number) != 18:
        return N_("身份证号码应为18位")
    if not _ID_SHAPE.fullmatch(number):
        return N_("身份证号码前17位应为数字，最后一位为数字或X")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return N_("身份证号码中的出生日期不正确")
    if id_check_char(number[:17]) != number[17]:
        return N_("身份证号码校验位不正确，请核对")
    return None


def normalise_mobile(phone: str) -> str:
    """`phone` as 11 digits without spaces, dashes or +86; "" when it is not a mainland mobile."""
    digits = _PHONE_NOISE.sub("", phone)
    digits = re.sub(r"^(?:\+86|0086|86)(?=1\d{10}$)", "", digits)
    return digits if _MOBILE.fullmatch(digits) else ""


def mask_id_number(number: str) -> str:
    """110101199003071234 -> 110101********1234."""
    return mask_value("id_number", number)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    return mask_value("mobile", phone)
