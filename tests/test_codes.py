"""GB 32100 unified social credit codes and GB 11643 resident ID numbers."""

import pytest

from portal.codes import id_check_char, is_valid_id_number, is_valid_uscc, uscc_error

from .support import make_uscc


@pytest.mark.parametrize(
    "code, problem",
    [
        ("91350100M000100Y43", None),  # the sample code printed in GB 32100
        ("91350100M000100Y44", "校验位"),
        ("91350100M000101Y43", "组织机构代码"),
        ("91350100M000100Y4", "18位"),
        ("91350100M0001O0Y43", "不允许的字符"),  # letter O
        ("9135010OM000100Y43", "不允许的字符"),
        ("91350100m000100y43", "不允许的字符"),
    ],
)
def test_uscc(code: str, problem: str | None) -> None:
    error = uscc_error(code)
    assert (error is None) if problem is None else (problem in error)


def test_generated_codes_are_valid() -> None:
    assert all(is_valid_uscc(make_uscc(n)) for n in range(200))


@pytest.mark.parametrize(
    "number, valid",
    [
        ("11010519491231002X", True),  # the example of GB 11643
        ("11010519491231002x", True),
        ("110105194912310021", False),
        ("11010519491231002", False),
        ("1101051949123100２X", False),  # a full-width digit
    ],
)
def test_id_number(number: str, valid: bool) -> None:
    assert is_valid_id_number(number) is valid


def test_id_check_char_of_the_standard_example() -> None:
    assert id_check_char("11010519491231002") == "X"
