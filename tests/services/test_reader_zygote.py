"""Issue 29, the deadline day's uploads kept light: a workbook's reading process is forked from a reader already
running rather than started as a new interpreter, with the same answers, limits and failures (fork: Linux, as the
server is)."""
from __future__ import annotations

import io
import os

from openpyxl import Workbook

from tuanjian.spreadsheets import reader


def _book(rows: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "团员"
    ws.append(["姓名", "身份证号码"])
    for i in range(rows):
        ws.append([f"张{i}", f"34082720000101{i:04d}"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_reads_are_forked_from_one_zygote_with_the_answers_of_a_fresh_process(monkeypatch):
    columns = {"姓名": "name", "身份证号码": "id_number"}
    data = _book(30)
    reader._Zygote.discard()
    first = reader.read_sheet(data, "a.xlsx", columns)
    zygote = reader._Zygote._current
    assert zygote is not None and zygote[0] == os.getpid() and zygote[2].poll() is None
    second = reader.read_sheet(data, "a.xlsx", columns)
    assert reader._Zygote._current is zygote                    # the same zygote served both
    monkeypatch.setenv("TUANJIAN_READER_SPAWN", "1")            # the process started per read, as before
    spawned = reader.read_sheet(data, "a.xlsx", columns)
    assert first == second == spawned and len(first.rows) == 30


def test_a_reading_process_that_dies_is_reported_and_the_zygote_serves_the_next_read(monkeypatch):
    """A child that aborts (as calamine does on a failed allocation) ends alone: the upload gets the Chinese
    message, the zygote forks the next reader."""
    columns = {"姓名": "name", "身份证号码": "id_number"}
    job = {"data": _book(3), "wanted": {reader.header_key(k): v for k, v in columns.items()},
           "required": ("name",), "prefer_sheet": None, "max_rows": 10, "need": "姓名"}
    assert reader._run_child(job)[0] == "ok"
    zygote = reader._Zygote._current
    # a job the child cannot even unpack makes it exit with an error status, as an abort would
    monkeypatch.setattr(reader.pickle, "dumps", lambda *a, **k: b"not a pickle")
    assert reader._run_child(job) == ("error", reader.ABNORMAL_MESSAGE)
    monkeypatch.undo()
    assert reader._run_child(job)[0] == "ok" and reader._Zygote._current is zygote


def test_a_reader_past_its_time_is_killed_and_the_zygote_survives(monkeypatch):
    columns = {"姓名": "name", "身份证号码": "id_number"}
    job = {"data": _book(3), "wanted": {reader.header_key(k): v for k, v in columns.items()},
           "required": ("name",), "prefer_sheet": None, "max_rows": 10, "need": "姓名"}
    assert reader._run_child(job)[0] == "ok"
    zygote = reader._Zygote._current
    monkeypatch.setattr(reader, "PARSE_TIMEOUT", 0.5)
    real = reader._talk

    def slow(proc, payload, deadline, on_rows):        # the child never gets its job: it waits until killed
        import subprocess
        import time
        while time.monotonic() < deadline:
            time.sleep(0.05)
        proc.stdin.close()
        proc.stdout.close()
        raise subprocess.TimeoutExpired(proc.args, 0.5)
    monkeypatch.setattr(reader, "_talk", slow)
    assert reader._run_child(job) == ("error", reader.TIMEOUT_MESSAGE)
    monkeypatch.setattr(reader, "_talk", real)
    monkeypatch.setattr(reader, "PARSE_TIMEOUT", 60)
    assert reader._run_child(job)[0] == "ok" and reader._Zygote._current is zygote
