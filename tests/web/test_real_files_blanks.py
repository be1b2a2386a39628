"""Real files, second pass (issue 25), class 1: a column absent from the file never changes a stored field; an empty
cell keeps the stored value unless the importer chooses "用表中空白清除已有内容"; the preview, the CLI and --json name
every field that would be emptied and for how many people. Generated: seeded random column subsets × cell states."""
from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import select

from tuanjian.models import Member, Person

from ..factories import make_member, text_workbook
from .test_real_files import batch_of, upload

REQUIRED = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部"]
# optional column label -> (member/person attribute, a stored value, a different value the file may carry)
OPTIONAL = {
    "手机号码": ("phone", "13800000000", "13911112222"),
    "文化程度": ("education", "普通本科", "硕士"),
    "职业": ("occupation", "学生", "农民"),
    "学习工作单位": ("workplace", "望江县第一中学", "望江县华阳镇政府"),
}


def stored(session, member_id: int) -> dict:
    session.expire_all()
    m = session.get(Member, member_id)
    return {"phone": m.person.phone, "education": m.education, "occupation": m.occupation,
            "workplace": m.workplace}


def _members(session, branch, n):
    out = []
    for i in range(n):
        m = make_member(session, branch, name=f"团员{chr(0x4e00 + i)}", phone="13800000000")
        m.education, m.occupation, m.workplace = "普通本科", "学生", "望江县第一中学"
        out.append(m)
    session.commit()
    return out


def _variant(rng: random.Random, members):
    """A file with a random subset of the optional columns (in random order) and, per row and column, a blank
    cell, the stored value or a new value; returns the workbook and what each field should become."""
    present = [label for label in OPTIONAL if rng.random() < 0.6]
    rng.shuffle(present)
    head = REQUIRED + present
    rows, states = [], []
    for m in members:
        state = {label: rng.choice(["blank", "same", "new"]) for label in present}
        values = {"blank": lambda label: "", "same": lambda label: OPTIONAL[label][1],
                  "new": lambda label: OPTIONAL[label][2]}
        rows.append([m.person.name, m.person.id_number, "汉族", "共青团员", m.person.join_date, "否"]
                    + [values[state[label]](label) for label in present])
        states.append(state)
    return head, rows, states


def _expected(states, clear: bool):
    out = []
    for state in states:
        want = {}
        for label, (attr, old, new) in OPTIONAL.items():
            s = state.get(label)
            want[attr] = old if s in (None, "same") else new if s == "new" else (None if clear else old)
        out.append(want)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_absent_columns_keep_and_blank_cells_keep_unless_cleared(client, session, login, tree, seed):
    rng = random.Random(seed)
    members = _members(session, tree.village, 6)
    head, rows, states = _variant(rng, members)
    clear = seed % 2 == 1
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, text_workbook(head, rows, sheet="团员")))
    assert not report.error_rows, [r.errors for r in report.error_rows]
    # the preview names every field an empty cell would clear, with the number of people
    counts = {}
    for state in states:
        for label, s in state.items():
            if s == "blank":
                counts[label] = counts.get(label, 0) + 1
    page = client.get(f"/members/imports/{batch.id}").get_data(as_text=True)
    for label, n in counts.items():
        assert f"{label} {n} 人" in page
    if counts:
        assert "用表中空白清除已有内容" in page
    else:
        assert 'name="clear_blanks"' not in page
    form = {"mode": "all", **({"clear_blanks": "1"} if clear else {})}
    assert client.post(f"/members/imports/{batch.id}/commit", data=form).status_code == 302
    for m, want in zip(members, _expected(states, clear), strict=True):
        assert stored(session, m.id) == want


def test_required_only_reimport_keeps_every_optional_field(client, session, login, tree):
    """The issue's own case: a re-import with only the 智慧团建 required columns changes nothing."""
    members = _members(session, tree.village, 3)
    rows = [[m.person.name, m.person.id_number, "汉族", "共青团员", m.person.join_date, "否"] for m in members]
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, text_workbook(REQUIRED, rows, sheet="团员")))
    assert [r.kind for r in report.rows] == ["unchanged"] * 3
    assert report.meta["blank_clears"] == {}
    client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all", "clear_blanks": "1"})
    for m in members:
        assert stored(session, m.id) == {"phone": "13800000000", "education": "普通本科", "occupation": "学生",
                                         "workplace": "望江县第一中学"}


def test_cli_names_the_fields_blank_cells_would_clear(app, session, tree, tmp_path):
    members = _members(session, tree.village, 4)
    head = REQUIRED + ["手机号码", "职业"]
    rows = [[m.person.name, m.person.id_number, "汉族", "共青团员", m.person.join_date, "否",
             "" if i < 3 else "13800000000", "" if i == 0 else "学生"] for i, m in enumerate(members)]
    path = tmp_path / "团员.xlsx"
    path.write_bytes(text_workbook(head, rows, sheet="团员").getvalue())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--json"])
    doc = json.loads(result.output)
    assert doc["blanks"] == {"clear": False, "fields": [{"column": "手机号码", "people": 3},
                                                        {"column": "职业", "people": 1}]}
    text = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--commit"]).output
    assert "手机号码 3 人、职业 1 人" in text and "已保留" in text
    assert stored(session, members[0].id)["phone"] == "13800000000"
    text = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--commit",
                               "--clear-blanks"]).output
    assert "已清除" in text and "手机号码 3 人" in text
    assert stored(session, members[0].id) == {"phone": None, "education": "普通本科", "occupation": None,
                                              "workplace": "望江县第一中学"}
    assert session.scalar(select(Person.phone).where(Person.id == members[3].person_id)) == "13800000000"


@pytest.mark.parametrize("dev_column", ["absent", "empty", "placeholder"])
def test_a_required_dev_number_is_kept_when_recorded_and_missing_otherwise(client, session, login, tree, dev_column):
    """Joined in 2017 or later: the 发展团员编号 is required. A recorded member keeps theirs when the column is absent
    or the cell empty; a new member without one is refused as before (and may ask for 特殊情况录入)."""
    from tuanjian.demo import make_id
    members = []
    for i in range(3):
        m = make_member(session, tree.village, name=f"新团员{chr(0x4e00 + i)}", join_date="2019-05",
                        birth=date(2003, 2, 1 + i))
        m.dev_number = f"2019{i:08d}"
        members.append(m)
    session.commit()
    newcomer = make_id(date(2004, 6, 6), 631, True)
    head = REQUIRED + ([] if dev_column == "absent" else ["发展团员编号"])
    cell = [] if dev_column == "absent" else ["" if dev_column == "empty" else "无"]
    rows = [[m.person.name, m.person.id_number, "汉族", "共青团员", "2019-05", "否"] + cell for m in members]
    rows.append(["新来的", newcomer, "汉族", "共青团员", "2019-05", "否"] + cell)
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, text_workbook(head, rows, sheet="团员")))
    assert [r.kind for r in report.rows] == ["unchanged"] * 3 + ["error"]
    assert "须填写发展团员编号" in report.rows[3].errors["dev_number"][0]
    assert report.rows[3].note.startswith("可申请特殊情况录入")
    client.post(f"/members/imports/{batch.id}/commit", data={"mode": "valid", "clear_blanks": "1"})
    session.expire_all()
    assert [session.get(Member, m.id).dev_number for m in members] == [f"2019{i:08d}" for i in range(3)]
