"""Check digits of the national identifier codes the catalog records.

Pure functions, standard library only:
- the unified social credit code (统一社会信用代码, GB 32100-2015), which carries the
  organisation code of GB 11714 (positions 9-17) with its own check character;
- the resident ID number (居民身份证号码, GB 11643-1999).
"""

from __future__ import annotations

import re

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The 9th character of a GB 11714 organisation code whose first 8 are given."""
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_error(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, in Chinese; None when it is."""
    if len(code) != 18:
        return "统一社会信用代码应为18位"
    if not _USCC_SHAPE.fullmatch(code):
        return "统一社会信用代码含有不允许的字符（不使用 I、O、S、V、Z，字母须大写）"
    if org_code_check_char(code[8:16]) != code[16]:
        return "统一社会信用代码中的组织机构代码校验位不正确"
    if uscc_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_error(code) is None


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are given."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def is_valid_id_number(number: str) -> bool:
    """True for an 18-character resident ID number with a correct GB 11643 check character."""
    return (
        len(number) == 18
        and number[:17].isdigit()
        and number[:17].isascii()
        and id_check_char(number[:17]) == number[17].upper()
    )
