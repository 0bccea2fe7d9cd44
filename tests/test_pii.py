"""The personal-information scanner and masking (Art. 16/23): every kind found and not found,
exact masks, idempotent masking, a masked table scanned again, ragged rows, findings as JSON."""

from __future__ import annotations

import json
import random

import pytest

from portal.codes import id_check_char, is_valid_id_number
from portal.pii import KIND_LABELS, Finding, Masker, Scanner, column_kind, find_kinds, mask_value


def make_id(region: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    first17 = region + birth + seq
    return first17 + id_check_char(first17)


def luhn_digit(body: str) -> str:
    """The check digit that makes `body` + digit pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str(-total % 10)


def card(body: str) -> str:
    return body + luhn_digit(body)


def bad_luhn(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


ID = make_id()  # 110101 19900307 123 + check character
ID_X = next(make_id(seq=f"{n:03d}") for n in range(1000) if make_id(seq=f"{n:03d}").endswith("X"))
ID_OLD = "110101900307123"  # 15 digits, born 1990-03-07
CARD16 = card("622848001234567")
CARD19 = card("621700123456789012")
# An 18-digit number that is both a valid ID number and Luhn-valid, starting with 3: an ID, not a card.
ID_LUHN = next(
    number for n in range(1000) if (number := make_id("340111", "19851224", f"{n:03d}")).isdigit()
    and luhn_digit(number[:-1]) == number[-1]
)
WRONG_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")


def test_the_test_numbers_are_what_they_claim() -> None:
    assert is_valid_id_number(ID) and is_valid_id_number(ID_X) and ID_X.endswith("X")
    assert ID_LUHN.startswith("3") and is_valid_id_number(ID_LUHN) and luhn_digit(ID_LUHN[:-1]) == ID_LUHN[-1]
    assert not is_valid_id_number(WRONG_CHECK)
    assert (len(CARD16), len(CARD19)) == (16, 19) and luhn_digit("411111111111111") == "1"


def test_labels_in_order() -> None:
    assert list(KIND_LABELS) == [
        "id_number", "id_number_old", "id_number_float", "mobile", "bank_card", "email",
        "person_name", "address", "id_column",
    ]
    assert KIND_LABELS["id_number"] == "身份证号码" and KIND_LABELS["address"] == "住址"


@pytest.mark.parametrize(
    "value, kinds",
    [
        (ID, ["id_number"]),
        (ID_X, ["id_number"]),
        (ID_X.lower(), ["id_number"]),
        (f"身份证号：{ID}。", ["id_number"]),
        (f"'{ID}", ["id_number"]),  # the apostrophe that keeps a spreadsheet from converting it
        (make_id("440305", "20010228"), ["id_number"]),
        (make_id("650102", "20000229"), ["id_number"]),  # a leap day
        (ID_LUHN, ["id_number"]),  # Luhn-valid too, but a valid ID number is no bank card
        (ID_OLD, ["id_number_old"]),
        ("身份证340111851224101", ["id_number_old"]),
        ("1.10101E+17", ["id_number_float"]),
        ("1.10101199003071E+17", ["id_number_float"]),
        ("1.10101199003071e+17", ["id_number_float"]),
        ("3.40111E17", ["id_number_float"]),
        ("13812345678", ["mobile"]),
        ("19912345678", ["mobile"]),
        ("+8613812345678", ["mobile"]),
        ("8613812345678", ["mobile"]),
        ("+86 13812345678", ["mobile"]),
        ("138-1234-5678", ["mobile"]),
        ("138 1234 5678", ["mobile"]),
        ("联系电话：13812345678", ["mobile"]),
        ("张三13812345678", ["mobile"]),
        ("13812345678.0", ["mobile"]),  # a phone read as a float
        ("电话 0551-62499588，手机 15955112233", ["mobile"]),
        (CARD16, ["bank_card"]),
        (CARD19, ["bank_card"]),
        (f"开户行：工商银行，账号{CARD19}", ["bank_card"]),
        ("4111 1111 1111 1111", ["bank_card"]),
        ("zhang.san@example.com", ["email"]),
        ("联系邮箱：li_si@hfjk.gov.cn", ["email"]),
        ("13812345678@163.com", ["email"]),  # the e-mail, not a mobile inside it
        (f"{ID}，13812345678，wang@example.org", ["id_number", "mobile", "email"]),
    ],
)
def test_pattern_kinds_found(value: str, kinds: list[str]) -> None:
    assert find_kinds(value) == kinds


@pytest.mark.parametrize(
    "value",
    [
        "", "张三", "合肥经开区锦绣大道北侧地块", "制造业", "0", "42",
        "JZ3401722024000032",  # record id
        "91340100726203317Q",  # USCC
        "建字第340172202400001号",  # building permit
        f"NO{ID}", f"{ID}A", f"ID{CARD19}", "Tel13812345678",  # glued to letters
        f"9{ID[1:17]}{id_check_char('9' + ID[1:17])}",  # first digit 9
        WRONG_CHECK,
        make_id("110101", "19901332"),  # no such date
        make_id("110101", "18990101"),  # before 1900
        make_id("110101", "20230229"),  # no leap year
        "110101901332123", "910101900307123",  # 15 digits: bad date, first digit 9
        "1.10101E+16", "9.10101E+17", "1.10101E+170", "1E+17",
        "0551-62499588", "055162499588", "010-12345678", "400-800-8888",
        "12345678901", "1381234567", "138123456789", "13812345678.5", "113812345678",
        bad_luhn(CARD16), bad_luhn(CARD19), card("122848001234567"), card("922848001234567"),
        "4111 1111 1111 1112",
        "2112.07", "2024-01-05", "2024/01/05", "20240105", "12:30:45", "2024-01-05 12:30:45",
        "20240105123045", "1704441600000", "117.218406", "31.820591", "117.218406,31.820591",
        "12.13812345678", "0.6222021234567890128", "3.1415926535897932",
        "a@b", "@某某", "zhang@localhost",
    ],
)
def test_pattern_kinds_not_found(value: str) -> None:
    assert find_kinds(value) == []


@pytest.mark.parametrize(
    "field, title, kind",
    [
        ("name", None, "person_name"),
        ("Name", "", "person_name"),
        ("name", "姓名", "person_name"),
        ("person_name", None, "person_name"),
        ("personName", None, "person_name"),
        ("full_name", None, "person_name"),
        ("FULL-NAME", None, "person_name"),
        ("fullname", None, "person_name"),
        ("contact", None, "person_name"),
        ("contact_person", None, "person_name"),
        ("legal_representative", None, "person_name"),
        ("legal_person_name", None, "person_name"),
        ("applicant_name", None, "person_name"),
        ("xm", None, "person_name"),
        ("f3", "联系人", "person_name"),
        ("f3", "法定代表人", "person_name"),
        ("f3", "法人代表", "person_name"),
        ("f3", "项目负责人", "person_name"),
        ("f3", "名字", "person_name"),
        ("company_name", None, None),
        ("school_name", None, None),
        ("line_name", None, None),
        ("stop_name", None, None),
        ("lot_name", None, None),
        ("project_name", None, None),
        ("station", None, None),
        ("user_name", None, None),
        ("name", "站点名称", None),
        ("name", "企业名称", None),
        ("contact", "联系电话", None),
        ("contact_phone", None, None),
        ("f3", "联系人电话", None),
        ("f3", "负责人手机号码", None),
        ("home_address", None, "address"),
        ("residence_address", None, "address"),
        ("hukou_address", None, "address"),
        ("homeAddress", None, "address"),
        ("applicant_home_addr", None, "address"),
        ("address", "住址", "address"),
        ("address", "居住地址", "address"),
        ("f4", "户籍地址", "address"),
        ("f4", "家庭地址", "address"),
        ("f4", "现住址", "address"),
        ("f4", "户籍地", "address"),
        ("address", None, None),
        ("address", "地址", None),
        ("address", "学校地址", None),
        ("company_address", None, None),
        ("registered_address", None, None),
        ("email_address", None, None),
        ("ip_address", None, None),
        ("id_number", None, "id_column"),
        ("id_card", None, "id_column"),
        ("idcard", None, "id_column"),
        ("IDCard", None, "id_column"),
        ("ID_CARD_NO", None, "id_column"),
        ("sfzh", None, "id_column"),
        ("legal_person_id_number", None, "id_column"),
        ("f5", "身份证号", "id_column"),
        ("f5", "证件号码", "id_column"),
        ("f5", "公民身份号码", "id_column"),
        ("f5", "法定代表人身份证号码", "id_column"),
        ("id", None, None),
        ("record_id", None, None),
        ("paid_no", None, None),
        ("f5", "证件类型", None),
        ("f5", "身份证有效期", None),
        ("area", "面积", None),
        ("姓名", None, "person_name"),  # a Chinese header is its own title
        ("家庭住址", "", "address"),
        ("身份证号", None, "id_column"),
        ("企业名称", None, None),
        ("单位地址", None, None),
        ("", None, None),
    ],
)
def test_column_kind(field: str, title: str | None, kind: str | None) -> None:
    assert column_kind(field, title) == kind


MASKS = [
    ("id_number", ID, ID[:6] + "********" + ID[-4:]),
    ("id_number", "110101199003071234", "110101********1234"),
    ("id_number", ID_X, ID_X[:6] + "********" + ID_X[-4:]),
    ("id_number", f"身份证号：{ID}。", f"身份证号：{ID[:6]}********{ID[-4:]}。"),
    ("id_number_old", ID_OLD, "110101*****7123"),
    ("id_number_float", "1.10101E+17", "******"),
    ("id_number_float", "1.10101199003071e+17", "******"),
    ("mobile", "13812345678", "138****5678"),
    ("mobile", "+8613812345678", "+86138****5678"),
    ("mobile", "+86 138 1234 5678", "+86 138****5678"),
    ("mobile", "138-1234-5678", "138****5678"),
    ("mobile", "联系电话：13812345678", "联系电话：138****5678"),
    ("mobile", "13812345678.0", "138****5678.0"),
    ("bank_card", CARD19, CARD19[:6] + "*" * 9 + CARD19[-4:]),
    ("bank_card", CARD16, CARD16[:6] + "*" * 6 + CARD16[-4:]),
    ("bank_card", "4111 1111 1111 1111", "411111******1111"),
    ("email", "zhang.san@example.com", "z***@example.com"),
    ("email", "联系邮箱：li_si@hfjk.gov.cn", "联系邮箱：l***@hfjk.gov.cn"),
    ("person_name", "张三丰", "张**"),
    ("person_name", "张三", "张*"),
    ("person_name", " 李四 ", "李*"),
    ("person_name", "欧阳娜娜", "欧阳**"),
    ("person_name", "司马相如", "司马**"),
    ("person_name", "诸葛亮", "诸葛*"),
    ("person_name", "欧阳", "欧*"),  # two characters: 欧 with given name 阳
    ("person_name", "John Smith", "J*********"),
    ("address", "安徽省合肥市蜀山区长江西路123号", "安徽省合肥市蜀山区****"),
    ("address", "合肥市经开区锦绣大道99号", "合肥市经开区****"),
    ("address", "内蒙古自治区鄂尔多斯市伊金霍洛旗乌兰木伦镇", "内蒙古自治区鄂尔多斯市****"),  # 旗 is the 16th
    ("address", "肥西县上派镇", "肥西县****"),
    ("address", "锦绣大道99号院3栋201", "锦绣大道99****"),
    ("address", "芙蓉路8号", "芙蓉****"),  # short: never more than half is kept
    ("id_column", ID, ID[:6] + "********" + ID[-4:]),
    ("id_column", WRONG_CHECK, WRONG_CHECK[:6] + "********" + WRONG_CHECK[-4:]),
    ("id_column", ID_OLD, "110101*****7123"),
    ("id_column", "E12345678", "E1*****78"),  # a passport number
    ("id_column", "A123", "****"),
]


@pytest.mark.parametrize("kind, value, masked", MASKS)
def test_masks(kind: str, value: str, masked: str) -> None:
    assert mask_value(kind, value) == masked


@pytest.mark.parametrize("kind, value, masked", MASKS)
def test_masking_is_idempotent_and_leaves_no_pattern(kind: str, value: str, masked: str) -> None:
    assert mask_value(kind, masked) == masked
    assert find_kinds(masked) == []


def test_mask_value_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="未知"):
        mask_value("passport", "E12345678")


COLUMNS = ["record_id", "name", "id_number", "phone", "address", "company_name", "area", "remark"]
TITLES = ["记录编号", "姓名", "身份证号码", "联系电话", "居住地址", "企业名称", "面积（平方米）", "备注"]
PEOPLE = [
    ["JZ3401722024000032", "张三丰", ID, "13812345678", "安徽省合肥市蜀山区长江西路123号", "合肥某某科技有限公司", "2112.07", ""],
    ["JZ3401722024000033", "欧阳娜娜", ID_X, "+86 139 1234 5678", "合肥市经开区锦绣大道99号", "91340100726203317Q", "86.5", "邮箱 ouyang@example.com"],
    ["JZ3401722024000034", "李四", WRONG_CHECK, "0551-62499588", "安徽省合肥市包河区", "建字第340172202400001号", "120", None],
    ["JZ3401722024000035", None, "", "", "   ", "", "", f"工资卡 {CARD19}"],
    ["JZ3401722024000036", "王五", ID_OLD, "1.10101E+17"],  # short row
    ["JZ3401722024000037", "赵六", ID, "15955112233", "肥西县上派镇", "某公司", "3", "", "extra", "13700001111"],  # long row
]
RAW = {ID, ID_X, WRONG_CHECK, ID_OLD, "13812345678", "15955112233", "ouyang@example.com", CARD19, "张三丰", "欧阳娜娜",
       "李四", "王五", "赵六", "安徽省合肥市蜀山区长江西路123号", "合肥市经开区锦绣大道99号", "肥西县上派镇"}


def scan(rows: list[list[str | None]]) -> list[Finding]:
    scanner = Scanner(COLUMNS, TITLES)
    for row in rows:
        scanner.scan_row(row)
    return scanner.findings()


def test_scanner_counts_each_kind_per_column_in_order() -> None:
    found = [(f.column, f.kind, f.count) for f in scan(PEOPLE)]
    assert found == [
        ("name", "person_name", 5),
        ("id_number", "id_number", 3),
        ("id_number", "id_number_old", 1),
        ("id_number", "id_column", 5),  # also the one whose check character is wrong
        ("phone", "id_number_float", 1),
        ("phone", "mobile", 3),
        ("address", "address", 4),
        ("remark", "bank_card", 1),
        ("remark", "email", 1),
    ]


def test_samples_are_masked_distinct_and_at_most_three() -> None:
    findings = scan(PEOPLE)
    by_key = {(f.column, f.kind): f.samples for f in findings}
    assert by_key[("name", "person_name")] == ("张**", "欧阳**", "李*")
    assert by_key[("phone", "mobile")] == ("138****5678", "+86 139****5678", "159****2233")
    assert by_key[("id_number", "id_number")] == (ID[:6] + "********" + ID[-4:], ID_X[:6] + "********" + ID_X[-4:])
    assert by_key[("address", "address")] == ("安徽省合肥市蜀山区****", "合肥市经开区****", "安徽省合肥市包河区****")
    for finding in findings:
        assert len(finding.samples) == len(set(finding.samples)) <= 3
        assert not any(raw in sample for sample in finding.samples for raw in RAW)


def test_masked_table_scanned_again_keeps_only_column_kinds() -> None:
    findings = scan(PEOPLE)
    masker = Masker(COLUMNS, findings)
    masked = [masker.mask_row(row) for row in PEOPLE]  # type: ignore[arg-type]
    assert [len(row) for row in masked] == [len(row) for row in PEOPLE]
    assert masked[0][:5] == ["JZ3401722024000032", "张**", ID[:6] + "********" + ID[-4:], "138****5678", "安徽省合肥市蜀山区****"]
    assert masked[0][5:] == PEOPLE[0][5:]  # no findings there: untouched
    assert masked[1][7] == "邮箱 o***@example.com"
    assert masked[2][2] == WRONG_CHECK[:6] + "********" + WRONG_CHECK[-4:] and masked[2][3] == "0551-62499588"
    assert masked[2][7] == "" and masked[3][7] == f"工资卡 {CARD19[:6]}*********{CARD19[-4:]}"
    assert masked[4][3] == "******" and masked[5][8:] == ["extra", "13700001111"]  # past the header: not ours
    text = json.dumps(masked, ensure_ascii=False)
    assert not any(raw in text for raw in RAW)
    again = scan(masked)  # type: ignore[arg-type]
    assert [(f.column, f.kind, f.count) for f in again] == [
        (f.column, f.kind, f.count) for f in findings if f.kind in ("person_name", "address", "id_column")
    ]
    assert [masker.mask_row(row) for row in masked] == masked  # idempotent


@pytest.mark.parametrize(
    "row",
    [[], [None], [None] * 8, ["13812345678"], ["", None, "", None], ["x"] * 20, [None, None, None, "13812345678", None]],
)
def test_ragged_rows_and_none_cells(row: list[str | None]) -> None:
    scanner = Scanner(COLUMNS, TITLES)
    scanner.scan_row(row)
    scanner.scan_row(tuple(row))  # type: ignore[arg-type]
    masker = Masker(COLUMNS, scan(PEOPLE))
    assert len(masker.mask_row(row)) == len(row)  # type: ignore[arg-type]
    assert all(f.count == 2 for f in scanner.findings())


def test_none_and_numbers_in_cells() -> None:
    scanner = Scanner(["n", "phone", "name"])
    scanner.scan_row([1, 13812345678, None])  # type: ignore[list-item]
    assert [(f.column, f.kind, f.count) for f in scanner.findings()] == [("phone", "mobile", 1)]


def test_titles_shorter_than_columns_and_cells_holding_the_separator() -> None:
    scanner = Scanner(["a", "b", "name"], ["说明"])
    scanner.scan_row(["x\x1fy", "电话\x1f13812345678", "张三"])
    scanner.scan_row(["x\x1fy\x1fz", "", "李四"])
    assert [(f.column, f.kind, f.count) for f in scanner.findings()] == [("b", "mobile", 1), ("name", "person_name", 2)]


def test_sample_limit_with_many_values() -> None:
    scanner = Scanner(["phone"])
    for n in range(50):
        scanner.scan_row([f"1381234{n:04d}"])
    (finding,) = scanner.findings()
    assert finding.count == 50 and finding.samples == ("138****0000", "138****0001", "138****0002")


def test_ordinary_data_has_no_findings() -> None:
    rng = random.Random(20240105)
    scanner = Scanner(["id", "area", "date", "time", "project_name", "industry", "record_no", "lng", "lat", "uscc", "amount"])
    for i in range(3000):
        scanner.scan_row([
            str(i), f"{rng.uniform(0, 5000):.2f}", f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            rng.choice(["锦绣大道北侧地块", "芙蓉社区卫生服务中心", "年产10万台新能源汽车零部件项目"]),
            rng.choice(["制造业", "服务业", "批发零售"]), f"JZ3401722024{i:06d}",
            f"117.{rng.randint(100000, 999999)}", f"31.{rng.randint(100000, 999999)}",
            f"913401007262{i:05d}Q", f"{rng.randint(0, 10**9)}.{rng.randint(0, 99):02d}",
        ])
    assert scanner.findings() == []


@pytest.mark.parametrize(
    "finding",
    [
        Finding("phone", "mobile", 3, ("138****5678", "+86 139****5678")),
        Finding("姓名", "person_name", 1, ("张*",)),
        Finding("id_number", "id_column", 0),
    ],
)
def test_finding_round_trip(finding: Finding) -> None:
    data = json.loads(json.dumps(finding.to_dict(), ensure_ascii=False))
    assert data == {"column": finding.column, "kind": finding.kind, "label": KIND_LABELS[finding.kind],
                    "count": finding.count, "samples": list(finding.samples)}
    assert Finding.from_dict(data) == finding


def test_finding_from_dict_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="未知"):
        Finding.from_dict({"column": "a", "kind": "passport", "count": 1, "samples": []})


def test_masker_masks_only_the_kinds_found() -> None:
    row = [f"13812345678 / {CARD16}", "张三"]
    only_mobile = Masker(["note", "name"], [Finding("note", "mobile", 1)])
    assert only_mobile.mask_row(row) == [f"138****5678 / {CARD16}", "张三"]
    both = Masker(["note", "name"], [Finding("note", "bank_card", 1), Finding("note", "mobile", 1), Finding("name", "person_name", 1)])
    assert both.mask_row(row) == [f"138****5678 / {CARD16[:6]}******{CARD16[-4:]}", "张*"]
    assert both.mask_row(["", "  "]) == ["", "  "] and both.mask_row([None]) == [""]  # type: ignore[list-item]
