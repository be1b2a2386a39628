"""Real files, second pass (issue 25), class 4 — labels and values by rule, generated: header labels with and without
号码/号/所在/团内/现任/是否/为/名称 and 团支部/支部, 时间/日期/年月; placeholders ("无", "/", "—", "-", "空", "暂无" in
every width and repeat) in optional columns (blank) and required ones (missing); × for X in ID numbers; 入团年月 with
a day or 份; post names after an organisation word; 是否为团干部 kept as a tick list."""
from __future__ import annotations

import itertools
import random
from datetime import date

import pytest
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.domain.cadres import CADRE_READ_COLUMNS
from tuanjian.domain.member_import import READ_COLUMNS
from tuanjian.domain.org_import import READ_COLUMNS as ORG_READ_COLUMNS
from tuanjian.domain.vocabulary import LABEL_RULES, is_placeholder
from tuanjian.models import CadrePost, Member, Person
from tuanjian.spreadsheets.reader import header_key, label_stem, wanted_labels

from ..factories import text_workbook
from .test_real_files import batch_of, upload

# the core of each column's label and the words a file may add or leave out around it
CORES = {"id_number": ["身份证"], "phone": ["手机"], "branch": ["团支部", "支部"], "position": ["职务"],
         "is_cadre": ["团干部"], "join_date": ["入团年月", "入团时间", "入团日期"], "workplace": ["学习工作单位"],
         "start_month": ["任现职年月", "任现职时间", "任现职日期"], "is_member": ["团员"]}
PREFIXES = {"id_number": ["", "本人"], "phone": ["", "本人"], "branch": ["", "所在", "所属", "所在团"],
            "position": ["团内", "现任", "团内现任", "现任团内"], "is_cadre": ["", "是否", "是否为"],
            "join_date": [""], "workplace": [""], "start_month": [""], "is_member": ["是否", "是否为"]}
SUFFIXES = {"id_number": ["", "号", "号码"], "phone": ["", "号", "号码"], "branch": ["", "名称"],
            "position": ["", "名称"], "is_cadre": [""], "join_date": [""], "workplace": ["", "名称"],
            "start_month": [""], "is_member": [""]}
DECOR = ["{}", "*{}", "{}（必填）", " {} ", "{}\n"]


def variants(key):
    for core, pre, suf in itertools.product(CORES[key], PREFIXES[key], SUFFIXES[key]):
        yield pre + core + suf


def resolve(wanted, label):
    k = header_key(label)
    if k in wanted:
        return wanted[k]
    return wanted.get(label_stem(k, LABEL_RULES))


@pytest.mark.parametrize("key", sorted(CORES))
def test_every_derived_label_reads_as_its_column(key):
    wanted = wanted_labels(READ_COLUMNS, LABEL_RULES)
    for label, decor in itertools.product(variants(key), DECOR):
        assert resolve(wanted, decor.format(label)) == key, decor.format(label)


def test_cadre_and_org_files_share_the_label_rules():
    cadre = wanted_labels(CADRE_READ_COLUMNS, LABEL_RULES)
    for label in ("身份证", "身份证号", "手机", "现任职务", "团内现任职务", "入团时间", "任现职日期"):
        assert resolve(cadre, label) is not None, label
    assert resolve(cadre, "职务名称") == "title" and resolve(cadre, "现任职务") == "position"
    org = wanted_labels(ORG_READ_COLUMNS, LABEL_RULES)
    assert resolve(org, "是否乡镇团委") == "is_township"


PLACEHOLDERS = ["无", "/", "／", "—", "——", "-", "－", "--", "空", "暂无", "没有", " 无 ", "＼", "N/A", "ｎ／ａ"]


def test_placeholder_forms():
    for p in PLACEHOLDERS:
        assert is_placeholder(p), p
    for value in ("否", "王一", "0", "13900000000", "无锡市第一中学", "一中", "-1"):
        assert not is_placeholder(value), value


def _ids(seed, n):
    return [make_id(date(2002, 1 + i % 12, 1 + (seed + i) % 27), 500 + 2 * i + seed * 30, i % 2 == 0)
            for i in range(n)]


@pytest.mark.parametrize("seed", range(8))
def test_labels_and_values_by_rule(client, session, login, tree, seed):
    """A file with random label variants and random value variants: every row is read as meant."""
    rng = random.Random(seed)
    labels = {"name": "姓名", "ethnicity": "民族", "political_status": "政治面貌"}
    for key in ("id_number", "phone", "branch", "position", "is_cadre", "join_date", "workplace"):
        labels[key] = rng.choice(DECOR).format(rng.choice(list(variants(key))))
    labels["dev_number"] = "发展团员编号"
    order = list(labels)
    rng.shuffle(order)
    tick = seed % 2 == 1                      # 是否为团干部 kept as √ / empty
    n = 6
    numbers = _ids(seed, n)
    rows, expect = [], []
    for i, number in enumerate(numbers):
        cadre = i % 3 == 0
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        join = rng.choice([f"2016年{month}月{day}日", f"2016年{month}月份", f"2016-{month:02d}-{day:02d}",
                           f"2016年{month}月{day}号", f"2016.{month}"])
        typed_id = number[:-1] + "×" if number.endswith("X") and rng.random() < 0.8 else number
        values = {"name": f"王{chr(0x4e00 + seed * 20 + i)}", "id_number": typed_id,
                  "ethnicity": "汉族", "political_status": "共青团员", "join_date": join,
                  "branch": rng.choice(["城东村团支部", " 城东村团支部 "]),
                  "is_cadre": ("√" if cadre else "") if tick else ("是" if cadre else rng.choice(["否", "否 "])),
                  "position": (rng.choice(["团支部组织委员", "团支部宣传委员", "支部书记", "团支部副书记", "组织委员"])
                               if cadre else rng.choice(PLACEHOLDERS + [""])),
                  "phone": rng.choice(PLACEHOLDERS + ["", "13900000000"]),
                  "workplace": rng.choice(PLACEHOLDERS + ["", "望江县华阳镇"]),
                  "dev_number": rng.choice(PLACEHOLDERS + [""])}
        if join == f"2016.{month}" and month in (1, 10):
            values["join_date"] = f"2016.{month:02d}"   # 2016.1 is refused as ambiguous (a rule of its own)
        rows.append([values[k] for k in order])
        expect.append((number, cadre, values, month))
    login(tree.township_admin)
    head = [labels[k] for k in order]
    batch, report = batch_of(session, upload(client, tree.township.id, text_workbook(head, rows, sheet="团员")))
    assert not report.error_rows, [(r.number, r.errors, r.cells) for r in report.error_rows]
    assert [r.kind for r in report.rows] == ["new"] * n
    assert report.meta["unused_columns"] == []
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    for number, cadre, values, month in expect:
        person = session.scalar(select(Person).where(Person.id_number == number))
        assert person is not None, number
        member = session.scalar(select(Member).where(Member.person_id == person.id))
        assert person.join_date == f"2016-{month:02d}"
        assert person.phone == (values["phone"] if values["phone"].isdigit() else None)
        assert member.workplace == (values["workplace"] if values["workplace"] == "望江县华阳镇" else None)
        assert member.dev_number is None
        post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id))
        if cadre:
            want = {"团支部组织委员": "组织委员", "团支部宣传委员": "宣传委员", "支部书记": "书记",
                    "团支部副书记": "副书记", "组织委员": "组织委员"}[values["position"]]
            assert post is not None and post.position == want
        else:
            assert post is None


REQUIRED = ["name", "id_number", "ethnicity", "political_status", "join_date", "is_cadre"]


@pytest.mark.parametrize("column,placeholder", list(itertools.product(REQUIRED, ["无", "/", "—", "空", "暂无", "－"])))
def test_a_placeholder_in_a_required_column_is_missing(client, session, login, tree, column, placeholder):
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部"]
    keys = ["name", "id_number", "ethnicity", "political_status", "join_date", "is_cadre"]
    row = ["王小二", _ids(99, 1)[0], "汉族", "共青团员", "2016-05", "否"]
    row[keys.index(column)] = placeholder
    other = ["李小三", _ids(98, 1)[0], "汉族", "共青团员", "2016-05", "否"]      # keeps the row countable
    login(tree.branch_admin)
    _, report = batch_of(session, upload(client, tree.village.id, text_workbook(head, [row, other], sheet="团员")))
    bad = report.rows[0]
    assert bad.kind == "error" and column in bad.errors, bad.errors
    assert any("请" in m for m in bad.errors[column]), bad.errors       # 请填写… / 请选择…: missing, not a bad value
    assert bad.cells[column] == placeholder.strip()                       # shown as typed


@pytest.mark.parametrize("seed", range(4))
def test_cadre_import_shares_the_layout_label_and_value_rules(client, session, login, tree, seed):
    """The 本级团干部 import: derived labels, instructions above the header, placeholders, × for X, the org word
    before a post, a day after the month, rows with no name and no ID ignored and counted."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    labels = [rng.choice(["身份证", "身份证号", "身份证号码"]), rng.choice(["手机", "手机号", "手机号码"]),
              rng.choice(["现任职务", "团内现任职务", "职务"]), "姓名", "民族", "政治面貌",
              rng.choice(["入团时间", "入团年月"]), "职务名称", "团干部性质"]
    numbers = [make_id(date(1994, 3, 1 + i), 701 + 2 * i + seed * 20, i % 2 == 0) for i in range(4)]
    rows = []
    for i, number in enumerate(numbers):
        values = {"姓名": f"钱{chr(0x4e00 + seed * 10 + i)}",
                  labels[0]: number[:-1] + "×" if number.endswith("X") else number,
                  labels[1]: rng.choice(["13600000000", "136 0000 0000"]), labels[2]: rng.choice(
                      ["团委副书记", "团委组织委员", "组织委员", "团总支宣传委员", "副书记"]),
                  "民族": "汉族", "政治面貌": "中共党员", labels[6]: f"2010年5月{rng.randint(1, 28)}日",
                  "职务名称": rng.choice(PLACEHOLDERS + [""]),
                  "团干部性质": rng.choice(["兼职", "挂职团干部", "专职团干"])}
        rows.append([values[label] for label in labels])
    ignored = rng.randint(1, 5)
    rows += [["", "", "", "", "汉族", "中共党员", "", "", "兼职"]] * ignored
    wb = Workbook()
    ws = wb.active
    ws.title = "团干部"
    for _ in range(rng.randint(0, 12)):
        ws.append(["填写说明：本级团干部（书记、副书记、委员）每人一行"])
    ws.append(labels)
    for row in rows:
        ws.append(row)
    from ..factories import saved
    login(tree.school_admin)
    resp = client.post(f"/cadres/org/{tree.school.id}/import", data={"file": (saved(wb), "干部.xlsx")},
                       content_type="multipart/form-data")
    batch, report = batch_of(session, resp)
    assert not report.error_rows, [(r.number, r.errors, r.cells) for r in report.error_rows]
    assert len(report.rows) == 4 and report.meta["unused_columns"] == []
    assert any(f"有 {ignored} 行没有姓名也没有身份证号" in n for n in report.notices)
    assert client.post(f"/cadres/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    for number in numbers:
        person = session.scalar(select(Person).where(Person.id_number == number))
        post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id))
        assert post.position in ("副书记", "组织委员", "宣传委员") and person.join_date == "2010-05"
        assert post.title is None                        # a placeholder or nothing in 职务名称
