"""Read uploaded workbooks (.xlsx, .xls, .ods) with python-calamine into raw rows.

Headers are matched by name (tolerant of '*', '（必填）', spaces), the header row may sit below a title
row, cells keep their raw type (text, number, date) for the domain rules to normalise. Anything that
is not a readable workbook becomes an ImportFileError with a Chinese message.

An upload is untrusted input, so it is read in two stages:

1. here, in the web process: cheap checks with clear messages (file type, empty, password, HTML/text named
   .xls) and, for zip-based files (.xlsx/.xlsm/.ods), a full streamed decompression that caps the total
   decompressed size whatever the zip headers claim (Python's zipfile stops at the declared size and checks
   the CRC), caps the number of members and refuses XML with a DTD (entity bombs; OOXML forbids DTDs);
2. calamine in a separate short-lived process with an address-space limit, a CPU limit and a wall-clock timeout:
   forked from a reader already running (this file run as a script with ``--zygote``, see _Zygote), or this file
   run as a script where fork does not exist. Calamine is a native library: a few KB can make it allocate hundreds of
   GB (a cell at A1 and one at XFD1048576: it allocates the whole rectangle, and a failed allocation aborts
   the process), loop forever (a truncated .ods) or panic (a damaged .xls raises PanicException, which is
   not an ``Exception``). In the child those end the child only; the user gets a Chinese message.

Cell text is cleaned of control and invisible characters (NUL cannot be stored in PostgreSQL, the other
C0 controls cannot be written to an .xlsx, bidi overrides such as U+202E disguise text) and capped in size.
"""
from __future__ import annotations

import datetime
import functools
import io
import math
import os
import pickle
import re
import sys
from itertools import repeat

# This file is also the reading process (run as a script, see _run_child), started for every upload: modules only
# the web process needs (logging, subprocess, zipfile, importlib, dataclasses) are not imported at its start-up.

MAX_ROWS = 100000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024        # zip-bomb guard for .xlsx/.ods: total decompressed size
MAX_ZIP_MEMBERS = 5000                        # an Excel workbook has a few dozen parts
MAX_CELL_CHARS = 32767                        # Excel's own limit: a longer cell cannot come from Excel
MAX_TEXT_CHARS = 30_000_000                   # all text kept from one file (100,000 rows need far less)
PARSE_TIMEOUT = 60                            # seconds the reading process may take (wall clock)
PARSE_MEMORY = 2 * 1024 * 1024 * 1024         # address space of the reading process
ALLOWED_SUFFIXES = (".xlsx", ".xls", ".ods", ".xlsm")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"     # .xls, and any .xlsx that Excel encrypted with a password
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")   # the stream an encrypted .xlsx keeps in its OLE box
PASSWORD_MESSAGE = ("该文件设置了打开密码（已加密），系统无法读取："
                    "请在 Excel 中取消密码（文件→信息→保护工作簿）后另存，再上传")
RESAVE = "请用 Excel 打开后“另存为”Excel 工作簿（.xlsx），再上传"
CORRUPT_MESSAGE = "文件已损坏，无法作为 Excel 打开；" + RESAVE
NOT_EXCEL_MESSAGE = "无法读取该文件：它不是有效的 Excel 工作簿（可能是改了扩展名或已损坏）。" + RESAVE
TOO_BIG_MESSAGE = "文件解压后过大，疑似损坏或恶意文件，已拒绝。请只保留模板中的工作表和数据，另存后再上传"
ABNORMAL_MESSAGE = ("无法读取该文件：文件内容异常（可能已损坏，或含有大量多余的行、列或内容）。"
                    "请把数据复制到新下载的模板中，另存后再上传")
TIMEOUT_MESSAGE = ("读取该文件超时：文件可能已损坏，或含有大量多余的行、列。"
                   "请把数据复制到新下载的模板中，另存后再上传")
DTD_MESSAGE = "文件中含有不允许的 XML 声明（DTD/实体），疑似恶意文件，已拒绝。" + RESAVE

# C0/C1 controls except tab, LF, CR; zero-width and BOM characters; bidi embeddings, overrides and isolates
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u2069\ufeff]")


class ImportFileError(Exception):
    """The upload cannot be read as the expected workbook. ``str(exc)`` is a Chinese message."""


if __name__ != "__main__":         # the web process's types (dataclasses is a quarter of the reader's start-up)
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class RawRow:
        number: int                     # the sheet's own row number (1-based, as Excel shows it)
        cells: dict[str, object]        # canonical column key -> raw value
        sheet: str = ""                 # the worksheet's name (workbooks with several data sheets)

    @dataclass
    class Sheet:
        name: str
        rows: list[RawRow]
        unknown_headers: list[str] = field(default_factory=list)    # header labels of columns not read
        ignored: int = 0                     # rows with no name and no ID (only filled-down defaults): not read
        hidden: list[int] = field(default_factory=list)             # hidden or filtered-out rows with data
        hidden_read: bool = False            # whether those rows were read (include_hidden) or left out
        filtered: bool = False               # the sheet has an AutoFilter (its hidden rows were filtered out)
        header_rows: tuple[int, int] = (1, 1)   # the header's first and last row (Excel numbers)

    @dataclass
    class Book:
        """Every visible sheet with a recognisable header, in workbook order."""
        sheets: list[Sheet]
        index: dict[str, dict[str, str]] = field(default_factory=dict)   # 目录: sheet name -> {column label: text}
        skipped: list[str] = field(default_factory=list)               # visible sheets with data but no header

        @property
        def rows(self) -> list[RawRow]:
            return [r for s in self.sheets for r in s.rows]

        @property
        def ignored(self) -> int:
            return sum(s.ignored for s in self.sheets)

        @property
        def layout_notices(self) -> list[str]:
            """What the reader left out or read by rule, for the preview, the CLI and --json (nothing silently)."""
            out = []
            several = len(self.sheets) > 1
            for s in self.sheets:
                where = f"工作表“{s.name}”" if several else "表中"
                if s.ignored:
                    out.append(f"{where}有 {s.ignored} 行没有姓名也没有身份证号（只有下拉或向下填充的默认值等），"
                               "已忽略")
                if s.hidden:
                    what = "被筛选隐藏" if s.filtered else "被隐藏"
                    rows = "、".join(map(str, s.hidden[:30])) + (" 等" if len(s.hidden) > 30 else "")
                    if s.hidden_read:
                        out.append(f"{where}第 {rows} 行（共 {len(s.hidden)} 行）在 Excel 中{what}，"
                                   "按您的选择已一并读取")
                    else:
                        out.append(f"{where}第 {rows} 行（共 {len(s.hidden)} 行）在 Excel 中{what}，没有导入；"
                                   "如要导入，请重新上传并勾选“包括隐藏和筛选掉的行”")
            return out

        @property
        def unknown_headers(self) -> list[str]:
            """Columns not imported, each named once (with its sheet when only some sheets have it)."""
            names = [s.name for s in self.sheets]
            seen: dict[str, list[str]] = {}
            for s in self.sheets:
                for h in s.unknown_headers:
                    seen.setdefault(h, []).append(s.name)
            return [h if len(where) == len(names) or len(names) == 1 else f"{h}（工作表{'、'.join(where)}）"
                    for h, where in seen.items()]


def header_key(text) -> str:
    """'*组织简称（必填）' -> '组织简称'."""
    t = clean_text(str(text or "")).strip()
    t = re.sub(r"[（(][^）)]*[）)]", "", t)
    return t.replace("*", "").replace("＊", "").replace(" ", "").replace("\u3000", "").replace("\n", "")


def label_stem(key: str, rules: dict) -> str:
    """A header key (see header_key) with the words ``rules`` (domain.vocabulary.LABEL_RULES) lets a file write or
    leave out brought to one form: the parts written two ways replaced, the leading and trailing optional words
    dropped. 所在支部, 团支部 and 所在团支部 all give 支部."""
    for old, new in rules.get("parts", ()):
        key = key.replace(old, new)
    prefixes, changed = rules.get("prefixes", ()), True
    while changed:
        changed = False
        for p in prefixes:
            if key.startswith(p) and len(key) > len(p):
                key, changed = key[len(p):], True
    for s in rules.get("suffixes", ()):
        if key.endswith(s) and len(key) > len(s):
            key = key[:-len(s)]
            break
    return key


def wanted_labels(columns: dict[str, str], rules: dict | None) -> dict[str, str]:
    """{header key: column key} for every listed label, then every label form the rules derive from them (a form
    two columns derive is left out, unless it is one column's own listed label: that column keeps it)."""
    wanted: dict[str, str] = {}
    for h, key in columns.items():
        wanted.setdefault(header_key(h), key)
    if not rules:
        return wanted
    derived: dict[str, set[str]] = {}
    for k, key in wanted.items():
        derived.setdefault(label_stem(k, rules), set()).add(key)
    for stem, keys in derived.items():
        if stem not in wanted and len(keys) == 1:
            wanted[stem] = next(iter(keys))
    return wanted


def clean_text(text: str) -> str:
    """Drop control and invisible characters (see the module docstring). Every character _INVISIBLE matches is
    one Python does not count as printable, so a printable text (nearly every cell) skips the regex."""
    return text if text.isprintable() else _INVISIBLE.sub("", text)


def clean_filename(name: str | None) -> str:
    """An uploaded file's name as stored, shown and reused in a download name: the last path part (old browsers
    send C:\\…\\名单.xlsx), without control or invisible characters (NUL breaks PostgreSQL, a newline the
    Content-Disposition header, U+202E disguises the extension), at most 200 characters."""
    name = re.sub(r"[\t\r\n]", " ", clean_text(name or "")).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if len(name) <= 200 else name[:100] + "…" + name[-99:]


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# ---------------------------------------------------------------- stage 1: in the web process

def read_sheet(data: bytes, filename: str, columns: dict[str, str], *, required: tuple[str, ...] = (),
               prefer_sheet: str | None = None, max_rows: int = MAX_ROWS, kinds: dict | None = None,
               own_kind: str | None = None, identity: tuple[str, ...] = (), include_hidden: bool = False,
               label_rules: dict | None = None) -> Sheet:
    """The first visible sheet with a recognisable header (``prefer_sheet`` first). ``columns`` maps header text
    (every accepted label, the preferred label of a key first) to a canonical key. ``kinds``/``own_kind``,
    ``identity``, ``include_hidden``: see read_workbook."""
    book = read_workbook(data, filename, columns, required=required, prefer_sheet=prefer_sheet, max_rows=max_rows,
                         kinds=kinds, own_kind=own_kind, all_sheets=False, identity=identity,
                         include_hidden=include_hidden, label_rules=label_rules)
    return book.sheets[0]


def read_workbook(data: bytes, filename: str, columns: dict[str, str], *, required: tuple[str, ...] = (),
                  prefer_sheet: str | None = None, max_rows: int = MAX_ROWS, kinds: dict | None = None,
                  own_kind: str | None = None, all_sheets: bool = True, identity: tuple[str, ...] = (),
                  include_hidden: bool = False, label_rules: dict | None = None, on_chunk=None) -> Book:
    """Every visible sheet with a recognisable header (``all_sheets``), the 目录 sheet of our own export, and the
    visible sheets skipped. ``kinds``: {kind: (label, [header keys all needed (alternatives as lists)],
    [header keys of which one marks the kind])} for every kind of import file; a sheet that is another kind's
    file than ``own_kind`` makes the upload a mixed file, refused with a message naming the sheets.

    Layout by rule: the header is the row (or the two rows, merged cells read as the label over each column) among
    the first 50 that holds the most known labels; a data cell merged over several rows gives each row its value;
    a row whose ``identity`` columns (e.g. name and ID number) are all empty is not read, only counted, whatever
    else it carries; rows hidden or filtered out in Excel (.xlsx) are named and left out unless
    ``include_hidden``.

    Labels by rule: a header cell is read as a column when it is one of the column's labels, or when it has the
    same label_stem as one (``label_rules``, domain.vocabulary.LABEL_RULES by default).

    ``on_chunk(sheet name, rows)``: called with each chunk of a sheet's rows as the reading process sends it (work on
    the rows can start while the rest is read); the rows of a sheet that is then not in the answer (another kind
    of file, a second sheet where one is read) are among them, and an error after them still raises."""
    name = (filename or "").lower()
    if not name.endswith(ALLOWED_SUFFIXES):
        raise ImportFileError("只能上传 Excel 文件（.xlsx 或 .xls），请使用下载的模板填写")
    if not data:
        raise ImportFileError("上传的文件是空的")
    hidden_parts = None              # the package's parts that may mark hidden rows (None: not known, look in all)
    if data[:8] == OLE_MAGIC:
        if name.endswith((".xlsx", ".xlsm")) or ENCRYPTED_PACKAGE in data:
            raise ImportFileError(PASSWORD_MESSAGE)
    elif data[:2] == b"PK":
        hidden_parts = _check_zip(data)
    else:
        _check_not_text(data)
    firsts = {}
    for h, k in columns.items():
        firsts.setdefault(k, h)
    need = "、".join(h for k, h in firsts.items() if k in required) or "、".join(firsts.values())
    if label_rules is None:
        from ..domain.vocabulary import LABEL_RULES
        label_rules = LABEL_RULES
    wanted = wanted_labels(columns, label_rules)
    job = {"rules": label_rules, "data": data, "wanted": wanted, "required": tuple(required),
           "prefer_sheet": prefer_sheet, "max_rows": max_rows, "need": need, "all_sheets": all_sheets,
           "kinds": _kind_keys(kinds or {}, label_rules), "own_kind": own_kind,
           "identity": tuple(k for k in identity if k in set(columns.values())), "include_hidden": include_hidden,
           "hidden_parts": hidden_parts, "chunk": STREAM_CHUNK}
    built: dict[int, list[RawRow]] = {}

    def raw_rows(sheet_name: str, keys, rows) -> list[RawRow]:
        # built by map (a 50,000-row sheet): each row's values are in ``keys``' order, one per key (see _rows)
        numbers = [number for number, _ in rows]
        cells = map(dict, map(zip, repeat(keys), [values for _, values in rows]))
        return list(map(RawRow, numbers, cells, repeat(sheet_name)))

    def on_rows(seq: int, sheet_name: str, keys, rows) -> None:
        # each chunk as it arrives, while the reading process cleans the next (see STREAM_CHUNK)
        made = raw_rows(sheet_name, keys, rows)
        built.setdefault(seq, []).extend(made)
        if on_chunk is not None:
            on_chunk(sheet_name, made)

    result = _run_child(job, on_rows)
    if result[0] == "error":
        raise ImportFileError(result[1])
    if result[0] == "ok":                       # one sheet (the reading process's single-sheet answer)
        result = ("sheets", [result], {})
    _, answers, extra = result
    sheets = []
    for _ok, sheet_name, keys, rows, unknown, layout, *streamed in answers:
        seq = streamed[0] if streamed else None
        made = built.get(seq, []) if seq is not None else raw_rows(sheet_name, keys, rows)
        sheets.append(Sheet(sheet_name, made, unknown, layout.get("ignored", 0),
                            layout.get("hidden", []), bool(include_hidden), layout.get("filtered", False),
                            tuple(layout.get("header_rows", (1, 1)))))
    return Book(sheets, extra.get("index", {}), extra.get("skipped", []))


def _kind_keys(kinds: dict, rules: dict | None = None) -> dict:
    """Header labels -> header keys, as the reading process compares them (the columns a kind needs in their
    derived forms too, see label_stem; the marking columns only as listed)."""
    def needed_keys(alternatives):
        keys = [header_key(h) for h in alternatives]
        return keys + [label_stem(k, rules) for k in keys] if rules else keys
    return {kind: (label, [needed_keys(alternatives) for alternatives in needed], [header_key(h) for h in markers])
            for kind, (label, needed, markers) in kinds.items()}


def _check_zip(data: bytes) -> set[str]:
    """Decompress every member as a stream (nothing is kept) so the real size is checked, not the claimed one.
    Returns the names of the XML parts that hold ``hidden=`` (the only ones where _hidden_rows can find hidden rows:
    the reading process then need not decompress a large sheet a second time to look)."""
    import zipfile

    total = 0
    hidden_parts = set()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
                raise ImportFileError(TOO_BIG_MESSAGE)
            for info in infos:
                if info.flag_bits & 0x1:
                    raise ImportFileError(PASSWORD_MESSAGE)
                with zf.open(info) as member:
                    head, tail, xml = True, b"", False
                    while chunk := member.read(1024 * 1024):
                        total += len(chunk)
                        if total > MAX_UNZIPPED_BYTES:
                            raise ImportFileError(TOO_BIG_MESSAGE)
                        if head:                       # XML parts (whatever their name) start with '<'
                            xml = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"
                            head = False
                        if xml:
                            window = tail + chunk
                            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                                raise ImportFileError(DTD_MESSAGE)
                            if b"hidden=" in window:
                                hidden_parts.add(info.filename)
                            tail = chunk[-16:]
    except ImportFileError:
        raise
    except Exception:        # BadZipFile, bad CRC, zlib.error, unsupported compression, EOF, ...
        raise ImportFileError(CORRUPT_MESSAGE) from None
    return hidden_parts


def _check_not_text(data: bytes) -> None:
    """Web pages, XML spreadsheets and CSV files are often saved with an .xls name: say so."""
    head = data[:4096]
    sample = head.decode("utf-16", "ignore").encode() if head[:2] in (b"\xff\xfe", b"\xfe\xff") else head
    start = sample.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in start or b"excel.sheet" in start:
            kind = "Excel 2003 XML 表格（“XML 电子表格”）"
        elif b"<html" in start or b"<!doctype html" in start or b"<table" in start:
            kind = "网页（HTML）文件"
        else:
            kind = "XML 文本文件"
        raise ImportFileError(f"该文件不是有效的 Excel 工作簿，而是{kind}，只是扩展名像 Excel。" + RESAVE)
    if b"\x00" in head:
        return
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:          # a character cut at the end of the sample does not count
                continue
        raise ImportFileError("该文件不是有效的 Excel 工作簿，而是纯文本文件（例如 CSV 改了扩展名）。" + RESAVE)


@functools.cache
def _calamine_dir() -> str:
    """Where python-calamine is installed: the child starts without site (-I -S: fast and isolated) and is
    told this one path."""
    import importlib.util

    spec = importlib.util.find_spec("python_calamine")
    if spec is None or spec.origin is None:
        raise ImportFileError("服务器缺少读取 Excel 的组件（python-calamine），请联系系统管理员")
    return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))


def _run_child(job: dict, on_rows=None):
    """The reading process's answer (see _child_main): ("ok", …) for one sheet, ("sheets", …) for several, or
    ("error", message). ``on_rows(n, sheet name, column keys, rows)``: called for each chunk of rows as it arrives
    (see STREAM_CHUNK), while the reading process goes on; a later error still makes the answer an error."""
    import logging
    import subprocess
    import tempfile
    import time

    log = logging.getLogger(__name__)
    payload = pickle.dumps({**job, "timeout": PARSE_TIMEOUT, "memory": PARSE_MEMORY, "path": _calamine_dir()},
                           protocol=pickle.HIGHEST_PROTOCOL)
    # the reader needs none of the app's settings (secret key, database URL): it gets a bare environment
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "SYSTEMROOT", "LANG", "LC_ALL", "TMPDIR", "TEMP",
                                                        "TMP")}
    env["RUST_BACKTRACE"] = "0"
    deadline = time.monotonic() + PARSE_TIMEOUT
    with tempfile.TemporaryFile() as errors:          # a file, not a pipe: a chatty child cannot block on it
        try:
            proc = _Zygote.start(errors, env)         # forked from a reader already running: no interpreter start
            if proc is None:
                proc = subprocess.Popen([sys.executable, "-I", "-S", "-B", os.path.abspath(__file__)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env)
        except OSError:                                # no process could be started (limits, no interpreter)
            log.exception("cannot start the workbook reader")
            return ("error", "服务器暂时无法读取 Excel 文件（无法启动读取进程），请稍后重试；"
                             "如反复出现请联系系统管理员")
        try:
            answer = _talk(proc, payload, deadline, on_rows)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log.warning("workbook reader timed out after %s s", PARSE_TIMEOUT)
            return ("error", TIMEOUT_MESSAGE)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.returncode == 0 and answer is not None:
            return answer
        errors.seek(0)
        stderr = errors.read()
    # calamine's own words ("memory allocation of … bytes failed", "panicked at …") or the exception: the first and
    # last line, with digit runs that could be an ID or a phone number masked (no personal data in logs)
    lines = stderr.decode("utf-8", "replace").strip().splitlines() or [""]
    summary = " … ".join(dict.fromkeys((lines[0][:200], lines[-1][:200])))
    log.warning("workbook reader failed (exit %s): %s", proc.returncode,
                re.sub(r"(?<!\d)\d{6,}(?!\d| bytes)", "…", summary))
    return ("error", ABNORMAL_MESSAGE)


class _Zygote:
    """A reading process that is already running (one per web process, started at its first upload): this file run
    as a script with ``--zygote``, python-calamine imported, waiting on a socket. For each upload it forks a child
    that is the reading process of _child_main (its own limits, its own pipes, ended alone when calamine aborts),
    so an upload no longer pays an interpreter's start, this file's compilation and the imports (~50 ms of CPU of a
    ~60 ms read of a small workbook). One read at a time per web process; a second one at the same moment (threaded
    workers), a platform without fork, or a zygote that stopped answering falls back to starting a process, as does
    every read when the environment has TUANJIAN_READER_SPAWN=1 (bench/load.py compares the two that way)."""

    _lock = None
    _current = None                   # (pid of the web process that started it, socket, Popen)

    @classmethod
    def start(cls, errors, env):
        import threading
        if not (hasattr(os, "fork") and hasattr(__import__("socket"), "send_fds")) or os.environ.get(
                "TUANJIAN_READER_SPAWN"):
            return None
        if cls._lock is None or cls._lock[0] != os.getpid():
            cls._lock = (os.getpid(), threading.Lock())
        lock = cls._lock[1]
        if not lock.acquire(blocking=False):
            return None
        try:
            sock = cls._socket(env)
            if sock is None:
                lock.release()
                return None
            child = _Forked(sock, errors, lock, cls)
        except BaseException:
            cls.discard()
            lock.release()
            return None
        return child

    @classmethod
    def _socket(cls, env):
        import socket
        import subprocess
        current = cls._current
        if current is not None and current[0] == os.getpid() and current[2].poll() is None:
            return current[1]
        cls.discard()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), "--zygote",
                                     str(theirs.fileno()), _calamine_dir()], pass_fds=(theirs.fileno(),),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        cls._current = (os.getpid(), ours, proc)
        return ours

    @classmethod
    def discard(cls) -> None:
        """Forget the zygote (its socket closed, it exits); the next upload starts another."""
        current, cls._current = cls._current, None
        if current is not None and current[0] == os.getpid():
            current[1].close()
            try:
                current[2].wait(timeout=5)
            except Exception:  # noqa: BLE001 -- it reads EOF and exits; a stuck one is killed
                current[2].kill()


class _Forked:
    """The child a zygote forked, as much of subprocess.Popen as _run_child and _talk use."""

    def __init__(self, sock, errors, lock, zygote):
        import socket
        self.sock, self.lock, self.zygote, self.returncode, self.args = sock, lock, zygote, None, ["reader"]
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            sock.settimeout(10)
            socket.send_fds(sock, [b"R"], [job_r, out_w, errors.fileno()])
            self.pid = int.from_bytes(self._read(8), "little", signed=True)
        except BaseException:
            for fd in (job_r, job_w, out_r, out_w):
                os.close(fd)
            raise
        os.close(job_r)
        os.close(out_w)
        self.stdin, self.stdout = os.fdopen(job_w, "wb"), os.fdopen(out_r, "rb")

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            more = self.sock.recv(n - len(data))
            if not more:
                raise OSError("the workbook reader's zygote closed its socket")
            data += more
        return data

    def poll(self):
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass

    def wait(self, timeout=None):
        import subprocess
        if self.returncode is not None:
            return self.returncode
        try:
            self.sock.settimeout(timeout)
            self.returncode = int.from_bytes(self._read(8), "little", signed=True)
        except TimeoutError:
            raise subprocess.TimeoutExpired(self.args, timeout) from None
        except BaseException:
            self.returncode = -9
            self.kill()
            self.zygote.discard()
            raise
        finally:
            if self.returncode is not None and self.lock.locked():
                self.lock.release()
        return self.returncode


def _zygote_main(fd: int, path: str) -> None:
    """``reader.py --zygote FD PATH``: fork one reading process per request on the socket FD (its job, output and
    error descriptors come with the request), answer its pid, then its exit status; end when the socket closes."""
    import signal
    import socket

    sys.path.insert(0, path)
    import python_calamine  # noqa: F401 -- loaded once here, shared by every child
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # Ctrl+C on the server: the web process decides
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 3)
        except OSError:
            return
        if not msg or len(fds) != 3:
            return
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sock.close()
                for target, source in enumerate(fds):
                    os.dup2(source, target)
                    os.close(source)
                sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "rb", closefd=False)))
                sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "wb", closefd=False)))
                sys.stderr = io.TextIOWrapper(io.FileIO(2, "wb", closefd=False), write_through=True)
                _child_main()
                code = 0
            except BaseException:      # noqa: BLE001 -- its exit status tells; the message goes to stderr
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        for f in fds:
            os.close(f)
        try:
            sock.sendall(pid.to_bytes(8, "little", signed=True))
            _, status = os.waitpid(pid, 0)
            sock.sendall(os.waitstatus_to_exitcode(status).to_bytes(8, "little", signed=True))
        except OSError:
            return


def _talk(proc, payload: bytes, deadline: float, on_rows):
    """Send the job, read the frames (see _write_frame) until the child ends; the unpacked answer, or None when the
    child's output is not a whole answer (the caller reports the failure). Raises subprocess.TimeoutExpired past
    ``deadline``."""
    import selectors
    import subprocess
    import time

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(proc.args, PARSE_TIMEOUT)
        return left

    stdin, stdout = proc.stdin, proc.stdout
    os.set_blocking(stdin.fileno(), False)
    try:                          # Linux: a pipe holding a whole chunk, so the child writes it without waiting
        import fcntl
        fcntl.fcntl(stdout.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1024 * 1024)
    except (ImportError, OSError):
        pass
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_WRITE)
    sel.register(stdout, selectors.EVENT_READ)
    view, sent = memoryview(payload), 0
    reading = _Frames(on_rows)
    try:
        while sel.get_map():
            for key, _ in sel.select(remaining()):
                if key.fileobj is stdin:
                    try:
                        sent += os.write(stdin.fileno(), view[sent:sent + 512 * 1024])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:    # the child ended early: its exit status tells
                        sent = len(view)
                    if sent >= len(view):
                        sel.unregister(stdin)
                        stdin.close()
                    continue
                chunk = os.read(stdout.fileno(), 1024 * 1024)
                if not chunk:
                    sel.unregister(stdout)
                    continue
                reading.feed(chunk)
    finally:
        sel.close()
        stdout.close()
        if not stdin.closed:
            try:
                stdin.close()
            except OSError:                    # a broken pipe while flushing: nothing was buffered
                pass
    proc.wait(remaining())
    if reading.answer is None or reading.buffer or reading.broken:
        return None
    try:
        return _assemble(_unpack(reading.answer), reading.sheets)     # written by _child_main, not by the upload
    except Exception:
        return None


class _Frames:
    """The reading process's output taken in as it comes (see _write_frame): row chunks handed to ``on_rows``, the
    last frame kept as the answer; ``broken`` when the output is not frames as _child_main writes them."""

    def __init__(self, on_rows):
        self.on_rows, self.buffer, self.answer, self.broken = on_rows, bytearray(), None, False
        self.sheets: dict[int, tuple] = {}          # stream number -> (sheet name, keys, raw rows so far)

    def feed(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while not self.broken and len(buffer) >= 9:
            size = int.from_bytes(buffer[1:9], "little")
            if len(buffer) < 9 + size:
                break
            tag, frame = bytes(buffer[:1]), bytes(buffer[9:9 + size])
            del buffer[:9 + size]
            if tag == b"L" and self.answer is None:
                self.answer = frame
            elif tag == b"F" and self.answer is None:
                chunk = _stream_frame(frame, self.sheets)
                if chunk is None:
                    self.broken = True
                elif self.on_rows is not None and chunk:
                    self.on_rows(*chunk)
            else:
                self.broken = True


def _stream_frame(frame: bytes, sheets: dict):
    """A frame taken in (written by _child_main, not by the upload): () for a sheet's start, (n, sheet name, keys,
    rows) for a chunk of rows, None when the frame is not one the reading process writes."""
    import marshal
    try:
        message = marshal.loads(frame)
        if message[0] == "sheet":
            _, seq, name, keys = message
            sheets[seq] = (name, keys, [])
            return ()
        _, seq, rows, moved = message
        _put_dates(rows, moved)
        name, keys, so_far = sheets[seq]
        so_far += rows
    except Exception:
        return None
    return seq, name, keys, rows


def _assemble(result, sheets: dict):
    """The answer with each sheet's streamed rows put back in place of its ("sent", n)."""
    def one(answer):
        rows = answer[3]
        if type(rows) is tuple and len(rows) == 2 and rows[0] == "sent":
            return (*answer[:3], sheets[rows[1]][2], *answer[4:]), rows[1]
        return answer, None
    if result[0] == "ok":
        answer, seq = one(result)
        return answer[:6] + (seq,)
    if result[0] == "sheets":
        return ("sheets", [(a[:6] + (seq,)) for a, seq in map(one, result[1])], result[2])
    return result


# ---------------------------------------------------------------- the child's answer
# marshal moves plain values several times faster than pickle (a 50,000-row sheet is 650,000 cells); dates and
# times, which marshal cannot carry, travel beside the rows as (row, column, kind, ISO text) and are put back.
# _rows takes them out in the same pass that cleans the text, so no second walk over every cell is needed.

_TIME_KINDS = ("datetime", "date", "time", "timedelta")
_timedelta = datetime.timedelta


def _pack(result) -> bytes:
    import marshal
    return marshal.dumps(tuple(result))


# Streaming (issue 29): the reading process sends a sheet's rows in chunks of STREAM_CHUNK as it cleans them, so the
# web process turns them into RawRows while the rest of the sheet is still being cleaned (the machine has two
# cores; the reading process's share after calamine's parse overlaps the web process's share). Frames:
# ("sheet", n, sheet name, column keys) when a sheet's rows start, ("rows", n, rows, moved dates) per chunk (dates
# indexed within the chunk), and last the answer as without streaming, each sheet's rows replaced by ("sent", n).
STREAM_CHUNK = 4000
_STREAM: dict = {"emit": None, "sheets": 0, "chunk": STREAM_CHUNK}


class _Sent:
    """The rows of a sheet already streamed: their number (what _parse counts) and the sheet's stream number."""

    def __init__(self, seq: int, count: int):
        self.seq, self.count = seq, count

    def __len__(self) -> int:
        return self.count


class _Chunks:
    """A sheet's rows as _rows sends them: in chunks when the reading process streams (see _STREAM), else kept."""

    def __init__(self, sheet_name: str, keys: list):
        self.emit, self.sent, self.seq = _STREAM["emit"], 0, _STREAM["sheets"]
        self.chunk = _STREAM["chunk"] if self.emit is not None else 0
        if self.emit is not None:
            _STREAM["sheets"] += 1
            self.emit(("sheet", self.seq, clean_text(sheet_name), keys))

    def step(self, rows: list, moved: list, max_rows: int) -> tuple[list, list]:
        """After a row: refuse a sheet of more than ``max_rows``; send a full chunk. The lists to go on with."""
        if len(rows) + self.sent > max_rows:
            raise ImportFileError(f"一次最多导入 {max_rows} 行，请拆分成几个文件")
        if len(rows) == self.chunk:
            return self.send(rows, moved)
        return rows, moved

    def send(self, rows: list, moved: list) -> tuple[list, list]:
        """Send a chunk (``moved``: its dates, indexed within it); the lists to go on with."""
        self.emit(("rows", self.seq, rows, moved))
        self.sent += len(rows)
        return [], []

    def end(self, rows: list, moved: list):
        """The answer's rows and moved dates: as kept, or what was sent (_Sent) when streaming."""
        if self.emit is None:
            return rows, moved
        if rows:
            self.send(rows, moved)
        return _Sent(self.seq, self.sent), []


def _sent(result):
    """The answer with each streamed sheet's rows replaced by ("sent", n) (marshal writes plain values only)."""
    def one(answer):
        if answer[0] == "ok" and isinstance(answer[3], _Sent):
            return (*answer[:3], ("sent", answer[3].seq), *answer[4:])
        return answer
    if result[0] == "ok":
        return one(result)
    if result[0] == "sheets":
        return ("sheets", [one(a) for a in result[1]], result[2])
    return result


def _unpack(data: bytes):
    import marshal
    result = marshal.loads(data)
    if result[0] == "ok":
        return _put_back(result)
    if result[0] == "sheets":
        return ("sheets", [_put_back(r) for r in result[1]], result[2])
    return result


def _put_back(result):
    _, sheet_name, keys, rows, unknown, moved, layout = result
    _put_dates(rows, moved)
    return ("ok", sheet_name, keys, rows, unknown, layout)


def _put_dates(rows, moved) -> None:
    import datetime as dt
    for r, c, kind, text in moved:
        if kind == "timedelta":
            value = dt.timedelta(seconds=text)
        else:
            value = getattr(dt, kind).fromisoformat(text)
        rows[r][1][c] = value


# ---------------------------------------------------------------- stage 2: in the reading process

def _limit_resources(memory: int, seconds: int) -> None:
    try:
        import resource
    except ImportError:                          # not on Windows: the wall-clock timeout still applies
        return
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, seconds + 1), (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(limit)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(limit, (value, hard))
        except (ValueError, OSError):
            pass


def _child_main() -> None:
    import gc
    gc.disable()          # short-lived, memory-capped, and its 650,000 cells all live to the end (see gc_paused)
    job = pickle.loads(sys.stdin.buffer.read())
    _limit_resources(job["memory"], job["timeout"])
    sys.path.insert(0, job["path"])
    out = sys.stdout.buffer
    _STREAM.update(emit=functools.partial(_write_frame, out), chunk=job.get("chunk") or STREAM_CHUNK)
    try:
        result = _sent(_parse(job))
    except ImportFileError as exc:
        result = ("error", str(exc))
    except MemoryError:
        result = ("error", ABNORMAL_MESSAGE)
    _write_frame(out, result, last=True)


def _write_frame(out, frame, *, last: bool = False) -> None:
    """One frame of the reading process's answer: a tag byte (b"F" a row chunk or a sheet's start, b"L" the last
    frame: the answer itself), the length, the marshal-packed frame."""
    data = _pack(frame)
    out.write((b"L" if last else b"F") + len(data).to_bytes(8, "little"))
    out.write(data)
    out.flush()


def _open_workbook(job: dict):
    """The workbook and its sheets' metadata; an unreadable or encrypted file raises ImportFileError."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(job["data"]))
        sheets = list(wb.sheets_metadata)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: BLE001 -- calamine raises several types, and PanicException on bad input
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise ImportFileError(PASSWORD_MESSAGE) from None
        raise ImportFileError(NOT_EXCEL_MESSAGE) from None
    return wb, sheets


def _reject_foreign(foreign, answers, kinds, own) -> None:
    """Raise if some sheets are another kind of file (another page's import)."""
    if foreign and (answers or len({k for _, k in foreign}) > 1):
        own_label = kinds[own][0] if own in kinds else "本页面要导入的表"
        parts = [f"工作表“{n}”是{own_label}" for n in (a[1] for a in answers)][:3]
        parts += [f"工作表“{n}”是{label}" for n, label in foreign][:3]
        raise ImportFileError("这个文件混合了不同类型的表格（" + "，".join(parts)
                              + "）。本级团干部、下级团支部团员团干部和下级组织"
                              "的表格不能放在同一个文件中（智慧团建的模板也不能混用）：请把它们分成不同的文件，"
                              "分别在对应的页面导入")
    if foreign:
        n, label = foreign[0]
        raise ImportFileError(f"工作表“{n}”是{label}，不是{kinds[own][0] if own in kinds else '本页面要导入的表'}："
                              "请在对应的页面导入，或下载本页面的模板填写")


def _parse(job: dict):
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    wb, sheets = _open_workbook(job)
    wanted, required, max_rows = job["wanted"], job["required"], job["max_rows"]
    _LABELS.update(rules=job.get("rules"), wanted=wanted)
    worksheets = [s for s in sheets if s.typ == SheetTypeEnum.WorkSheet]
    visible = [s.name for s in worksheets if s.visible == SheetVisibleEnum.Visible]
    hidden = [s.name for s in worksheets if s.visible != SheetVisibleEnum.Visible]
    if job["prefer_sheet"] in visible and not job.get("all_sheets"):     # several sheets: in workbook order
        visible.remove(job["prefer_sheet"])
        visible.insert(0, job["prefer_sheet"])
    read = 0
    answers, skipped, foreign, index = [], [], [], {}
    total = 0
    kinds, own = job.get("kinds") or {}, job.get("own_kind")
    hidden_rows = _hidden_rows(job["data"], job.get("hidden_parts"))
    for sheet_name in visible:
        values = _sheet_values(wb, sheet_name)
        if values is None:
            continue
        read += 1
        merged = _merged(wb, sheet_name)
        found = _find_header(values, wanted, required, merged)
        other = [label for kind, (label, needed, markers) in kinds.items()
                 if kind != own and _is_kind(values, needed, markers, merged)]
        if found is not None and not (other and own in kinds and not _is_kind(values, *kinds[own][1:], merged)):
            hidden, filtered = hidden_rows.get(sheet_name, (set(), False))
            answer = _rows(sheet_name, values, found, wanted, max_rows,
                           layout={"merged": merged, "identity": job.get("identity") or (), "hidden": hidden,
                                   "filtered": filtered, "include_hidden": job.get("include_hidden")})
            total += len(answer[3])
            if total > max_rows:
                raise ImportFileError(f"一次最多导入 {max_rows} 行，请拆分成几个文件")
            answers.append(answer)
        elif other:
            foreign.append((clean_text(sheet_name), other[0]))
        elif clean_text(sheet_name).strip() == "目录":
            index = _index(values)
        elif any(v not in (None, "") for row in values[:50] for v in row) and "说明" not in sheet_name:
            skipped.append(clean_text(sheet_name))
    _reject_foreign(foreign, answers, kinds, own)
    if answers and not job.get("all_sheets"):
        with_rows = [a for a in answers if a[3]]
        if len(with_rows) > 1:
            names = "”“".join(a[1] for a in with_rows[:5])
            raise ImportFileError(f"这个页面一次只导入一张工作表，而文件中“{names}”都有表头和数据："
                                  "请把数据合并到一张工作表，或分成几个文件分别上传")
        return (with_rows or answers)[0]
    if answers:
        return ("sheets", answers, {"index": index, "skipped": skipped})
    for sheet_name in hidden:
        values = _sheet_values(wb, sheet_name)
        if values is not None and _find_header(values, wanted, required, ()) is not None:
            raise ImportFileError(f"表头在隐藏的工作表“{clean_text(sheet_name)}”中，系统只读取可见的工作表："
                                  "请在 Excel 中右键工作表标签→“取消隐藏”（或把数据复制到模板的可见工作表），"
                                  "另存后再上传")
    if not worksheets:
        raise ImportFileError("工作簿里没有工作表。请使用系统下载的模板填写后再上传")
    if visible and not read:
        raise ImportFileError(NOT_EXCEL_MESSAGE)
    raise ImportFileError(f"在前 {HEADER_ROWS} 行中没有找到表头：系统找的是含有“{job['need']}”等列名的一行"
                          "（也可以是上下合并的两行）。请检查这些列名是否写错，或使用系统下载的模板")


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
_HIDDEN_ATTR = re.compile(rb"\bhidden=\"(?:1|true)\"")


def _hidden_rows(data: bytes, parts: list | set | None = None) -> dict:
    """{sheet name: (Excel numbers of hidden rows, whether the sheet has an AutoFilter)} of an .xlsx (rows hidden
    by hand or filtered out: Excel writes both as hidden="1"); {} for other formats. A sheet without the attribute
    costs one substring search; ``parts``: the package's parts known to hold the attribute (see _check_zip), the
    others are not even decompressed (None: look in every sheet)."""
    if data[:8] == OLE_MAGIC:
        return _hidden_rows_xls(data)
    if data[:2] != b"PK":
        return {}
    import zipfile
    out = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                return {}
            book = zf.read("xl/workbook.xml")
            rels = zf.read("xl/_rels/workbook.xml.rels") if "xl/_rels/workbook.xml.rels" in names else b""
            target = {m.group(1): m.group(2) for m in re.finditer(
                rb"<Relationship\b[^>]*?\bId=\"([^\"]+)\"[^>]*?\bTarget=\"([^\"]+)\"", rels)}
            target |= {m.group(2): m.group(1) for m in re.finditer(
                rb"<Relationship\b[^>]*?\bTarget=\"([^\"]+)\"[^>]*?\bId=\"([^\"]+)\"", rels)}
            for m in re.finditer(rb"<(?:\w+:)?sheet\b[^>]*>", book):
                tag = m.group(0)
                name, rid = re.search(rb"\bname=\"([^\"]*)\"", tag), re.search(rb"\br:id=\"([^\"]+)\"", tag)
                if not name or not rid or rid.group(1) not in target:
                    continue
                path = target[rid.group(1)].decode("utf-8", "replace").lstrip("/")
                path = path if path.startswith("xl/") else "xl/" + path
                if path not in names or (parts is not None and path not in parts):
                    continue
                xml = zf.read(path)
                if b"hidden=" not in xml:
                    continue
                rows = set()
                for tag_match in _ROW_TAG.finditer(xml):
                    row_tag = tag_match.group(0)
                    if _HIDDEN_ATTR.search(row_tag):
                        number = _ROW_NUMBER.search(row_tag)
                        if number:
                            rows.add(int(number.group(1)))
                if rows:
                    sheet = _xml_text(name.group(1).decode("utf-8", "replace"))
                    out[sheet] = (rows, b"<autoFilter" in xml or b":autoFilter" in xml)
    except Exception:        # an odd package: calamine judges the file; hidden rows are then not told apart
        return {}
    return out


_END_OF_CHAIN = 0xFFFFFFFE


def _ole_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first of ``names`` found in an OLE compound file (an .xls), read by its FAT (or mini FAT) chain; None when
    absent. Malformed files raise (the caller gives up quietly: calamine judges the file)."""
    import struct
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    size = 1 << shift
    mini_size = 1 << mini_shift
    first_dir, = struct.unpack_from("<I", data, 48)
    cutoff, first_minifat, _n_minifat, first_difat, n_difat = struct.unpack_from("<IIIII", data, 56)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < _END_OF_CHAIN]
    sector = first_difat
    for _ in range(n_difat):                  # more FAT sectors than the header holds
        if sector >= _END_OF_CHAIN:
            break
        entries = struct.unpack_from(f"<{size // 4}I", data, (sector + 1) * size)
        fat_sectors += [s for s in entries[:-1] if s < _END_OF_CHAIN]
        sector = entries[-1]
    fat = []
    for s in fat_sectors:
        fat += struct.unpack_from(f"<{size // 4}I", data, (s + 1) * size)

    def chain(start: int) -> bytes:
        out, seen = [], set()
        while start < _END_OF_CHAIN and start not in seen and start < len(fat):
            seen.add(start)
            out.append(data[(start + 1) * size:(start + 2) * size])
            start = fat[start]
        return b"".join(out)
    directory = chain(first_dir)
    entries = {}
    for at in range(0, len(directory) - 127, 128):
        length, kind = struct.unpack_from("<HB", directory, at + 64)
        name = directory[at:at + max(length - 2, 0)].decode("utf-16-le", "replace")
        start, stream_size = struct.unpack_from("<IQ", directory, at + 116)
        entries.setdefault(name, (kind, start, stream_size))
    root = next((e for e in entries.values() if e[0] == 5), None)
    for wanted in names:
        if wanted not in entries:
            continue
        _, start, stream_size = entries[wanted]
        if stream_size >= cutoff or root is None:
            return chain(start)[:stream_size]
        mini_stream, minifat = chain(root[1]), chain(first_minifat)
        mini = struct.unpack(f"<{len(minifat) // 4}I", minifat)
        out, seen = [], set()
        while start < _END_OF_CHAIN and start not in seen and start < len(mini):
            seen.add(start)
            out.append(mini_stream[start * mini_size:(start + 1) * mini_size])
            start = mini[start]
        return b"".join(out)[:stream_size]
    return None


def _hidden_rows_xls(data: bytes) -> dict:
    """{sheet name: (Excel numbers of hidden rows, whether the sheet has an AutoFilter)} of an .xls: the ROW records
    with fDyZero set (rows hidden by hand or filtered out), AUTOFILTERINFO marking a filtered sheet."""
    import struct
    try:
        book = _ole_stream(data, ("Workbook", "Book"))
        if not book:
            return {}
        sheets, at = [], 0
        while at + 4 <= len(book):                       # the workbook globals: BOUNDSHEET8 records
            kind, length = struct.unpack_from("<HH", book, at)
            if kind == 0x0085 and length >= 8:
                pos, _state, _type, cch, high = struct.unpack_from("<IBBBB", book, at + 4)
                raw = book[at + 12:at + 12 + (cch * 2 if high & 1 else cch)]
                sheets.append((pos, raw.decode("utf-16-le" if high & 1 else "latin-1", "replace")))
            elif kind == 0x000A:                         # EOF of the globals
                break
            at += 4 + length
        out = {}
        for pos, name in sheets:
            rows, filtered, at = set(), False, pos
            while at + 4 <= len(book):
                kind, length = struct.unpack_from("<HH", book, at)
                if kind == 0x0208 and length >= 16:      # ROW
                    number, = struct.unpack_from("<H", book, at + 4)
                    flags, = struct.unpack_from("<H", book, at + 4 + 12)
                    if flags & 0x20:
                        rows.add(number + 1)
                elif kind in (0x009D, 0x009B):           # AUTOFILTERINFO, FILTERMODE
                    filtered = True
                elif kind == 0x000A:
                    break
                at += 4 + length
            if rows:
                out[clean_text(name)] = (rows, filtered)
        return out
    except Exception:        # a damaged file: calamine judges it; hidden rows are then not told apart
        return {}


def _xml_text(text: str) -> str:
    import html
    return html.unescape(text)


def _is_kind(values, needed, markers, merged=()) -> bool:
    """Whether one of the header candidates (see _header_candidates) is the header of that kind of file."""
    for _, _, keys, *_ in _header_candidates(values, merged):
        keys = set(keys) | ({label_stem(k, _LABELS["rules"]) for k in keys} if _LABELS["rules"] else set())
        if all(any(k in keys for k in alternatives) for alternatives in needed) and any(m in keys for m in markers):
            return True
    return False


def _index(values) -> dict:
    """The 目录 sheet of our own 智慧团建 export: a header row with 工作表, then one row per sheet."""
    for hdr, row in enumerate(values[:10]):
        labels = [clean_text(str(v if v is not None else "")).strip() for v in row]
        if "工作表" in labels:
            at = labels.index("工作表")
            out = {}
            for line in values[hdr + 1:hdr + 5001]:
                cells = [clean_text(str(v if v is not None else "")).strip() for v in line]
                if at < len(cells) and cells[at]:
                    out[cells[at]] = {labels[i]: cells[i] for i in range(min(len(labels), len(cells))) if labels[i]}
            return out
    return {}


def _sheet_values(wb, sheet_name: str):
    try:
        sheet = wb.get_sheet_by_name(sheet_name)        # parses the whole sheet: once
        values = sheet.to_python(skip_empty_area=False)
        try:
            _MERGED[sheet_name] = list(sheet.merged_cell_ranges or ())
        except Exception:       # merged ranges are a help, not a need
            _MERGED[sheet_name] = []
        return values
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: BLE001 -- see _parse
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return None


HEADER_ROWS = 50          # the header is looked for in the first 50 rows (title rows and instructions above it)


_MERGED: dict[str, list] = {}       # sheet name -> merged ranges, kept by _sheet_values (a sheet is parsed once)


def _merged(wb, sheet_name: str) -> list:
    """The sheet's merged ranges ((first row, first column), (last row, last column)), 0-based; [] when the format
    has none calamine can tell."""
    return _MERGED.get(sheet_name, [])


# the reading process's label rules and wanted labels (set by _parse from the job; empty: labels as listed)
_LABELS: dict = {"rules": None, "wanted": {}}


def _label(v) -> str:
    """A header cell's key: as listed, else its label_stem when that is a wanted form."""
    if v is None or v == "":
        return ""
    key = header_key(v)
    rules, wanted = _LABELS["rules"], _LABELS["wanted"]
    if rules and key and key not in wanted:
        stem = label_stem(key, rules)
        if stem in wanted:
            return stem
    return key


def _header_candidates(values, merged):
    """(row index, height, column keys) for every row among the first HEADER_ROWS as a one-row header, and every
    pair of rows as a two-row header: each column's label is its lower cell when that is a known label or the
    upper cell is empty, else the upper one (a label merged down over both rows, or a group label merged across
    columns, is read in every column it covers)."""
    top = values[:HEADER_ROWS + 1]
    spread: dict[tuple[int, int], object] = {}
    for (r1, c1), (r2, c2) in merged:
        if r1 < len(top) and (c2 > c1 or r2 > r1):
            for r in range(r1, min(r2, len(top) - 1) + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        spread[(r, c)] = values[r1][c1] if c1 < len(values[r1]) else None
    labels = []
    for r, row in enumerate(top):
        width = len(row)
        labels.append([_label(spread.get((r, c), row[c] if c < width else None)) for c in range(width)])
    for r in range(min(HEADER_ROWS, len(labels))):
        yield r, 1, labels[r]
    for r in range(min(HEADER_ROWS, len(labels) - 1)):
        upper, lower = labels[r], labels[r + 1]
        if not any(lower):
            continue
        width = max(len(upper), len(lower))
        keys = []
        for c in range(width):
            u = upper[c] if c < len(upper) else ""
            lo = lower[c] if c < len(lower) else ""
            keys.append(lo if lo and (lo != u or not u) else u)
        yield r, 2, keys, upper, lower


def _find_header(values, wanted: dict[str, str], required: tuple[str, ...], merged=()):
    """The header: among the candidates holding every required column, the one with the most known columns (the
    earlier on a tie). A two-row candidate counts only when it holds more than each of its rows alone; it reads a
    column's lower label when that is known, else the upper. Returns (last header row, column keys, {key: [column
    indexes]}, first header row) or None."""
    singles: dict[int, int] = {}
    best, best_score = None, 0
    for cand in _header_candidates(values, merged):
        r, height, keys = cand[0], cand[1], cand[2]
        if height == 2:
            upper, lower = cand[3], cand[4]
            pad = len(keys)
            keys = [lo if lo in wanted else u if u in wanted else k
                    for k, u, lo in zip(keys, upper + [""] * (pad - len(upper)), lower + [""] * (pad - len(lower)),
                                        strict=True)]
        found: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k in wanted:
                found.setdefault(k, []).append(i)
        score = len({wanted[k] for k in found})
        if height == 1:
            singles[r] = score
        elif score <= max(singles.get(r, 0), singles.get(r + 1, 0)):
            continue                        # the other row adds no column: a title or a data row, not a header
        if not found or not all(any(wanted[k] == q for k in found) for q in required):
            continue
        if score > best_score or (score == best_score and r < best[0]):
            best, best_score = (r, keys, found, height), score
    if best is None:
        return None
    r, keys, found, height = best
    return r + height - 1, keys, found, r


def _fill_merged_down(values, merged, below: int) -> None:
    """A data cell merged over several rows (所在团支部, 入团年月 written once for a group) gives each row its
    value: copied into the rows under it (the first column of a range merged across columns too)."""
    for (r1, c1), (r2, _c2) in merged:
        if r1 > below and r2 > r1 and r1 < len(values) and c1 < len(values[r1]):
            value = values[r1][c1]
            for r in range(r1 + 1, min(r2, len(values) - 1) + 1):
                if c1 < len(values[r]):
                    values[r][c1] = value


def _columns(values, keys, found, wanted, hdr_index: int, first: int):
    """{key: column index} of the columns read, and the header labels of those not read."""
    col_of: dict[str, int] = {}
    unused: set[int] = set()              # a second alias of a column already read (e.g. 最高学历 beside 文化程度)
    rank = {k: i for i, k in enumerate(wanted)}
    for k, where in sorted(found.items(), key=lambda item: rank[item[0]]):
        key = wanted[k]
        if len(where) > 1:
            letters = "、".join(_column_letter(i) for i in where)
            raise ImportFileError(f"表头“{k}”出现了不止一次（第 {letters} 列），系统不知道该用哪一列："
                                  "请删除多余的列后再上传")
        if key in col_of:
            unused.add(where[0])
        else:
            col_of[key] = where[0]

    def header_text(i):                   # the lower label of a two-row header, else the upper
        for r in range(hdr_index, first - 1, -1):
            v = values[r][i] if i < len(values[r]) else None
            if v not in (None, ""):
                return clean_text(str(v)).strip()
        return keys[i]
    return col_of, [header_text(i) for i, k in enumerate(keys) if k and (k not in wanted or i in unused)]


def _rows(sheet_name: str, values, found, wanted: dict[str, str], max_rows: int, layout: dict | None = None):
    hdr_index, keys, found, first = found if len(found) == 4 else (*found, found[0])
    layout = layout or {}
    _fill_merged_down(values, layout.get("merged") or (), hdr_index)
    col_of, unknown = _columns(values, keys, found, wanted, hdr_index, first)
    out_keys = list(col_of)
    indexes = [col_of[k] for k in out_keys]
    identity = [out_keys.index(k) for k in layout.get("identity") or () if k in col_of]
    hidden, include_hidden = layout.get("hidden") or set(), layout.get("include_hidden")
    ignored, hidden_rows = 0, []
    rows, chars, moved = [], 0, []
    stream = _Chunks(sheet_name, out_keys)
    for number, raw in enumerate(values[hdr_index + 1:], start=hdr_index + 2):
        cells, blank, dates = [], True, None
        for c, i in enumerate(indexes):
            v = raw[i] if i < len(raw) else None
            t = type(v)
            if t is str:
                if len(v) > MAX_CELL_CHARS:
                    raise ImportFileError(f"第 {number} 行第 {_column_letter(i)} 列的内容超过 {MAX_CELL_CHARS} 个字符"
                                          "（Excel 单元格的上限），文件可能已损坏：请检查后另存再上传")
                if not v.isprintable():       # clean_text inlined: 650,000 cells in a 50,000-row sheet
                    v = _INVISIBLE.sub("", v)
                chars += len(v)
                if blank and v.strip():
                    blank = False
            elif v is None:
                pass
            elif t is float or t is int or t is bool:
                blank = False
                if t is float and not math.isfinite(v):
                    v = str(v)                # NaN/inf: not a number anyone typed; the rules reject it as text
            elif t.__name__ in _TIME_KINDS:    # a date, time or duration: carried beside the row (see above)
                blank = False
                dates = dates or []
                dates.append((c, t.__name__, v.total_seconds() if t is _timedelta else v.isoformat()))
                v = None
            else:                             # nothing else is expected from calamine: keep it as text
                v = str(v)
                blank = False
            cells.append(v)
        if blank:
            continue
        if identity:
            for j in identity:
                v = cells[j]
                if (v is not None and (type(v) is not str or v.strip())) or (dates and any(c == j for c, *_ in dates)):
                    break
            else:
                ignored += 1                  # no name and no ID: only filled-down defaults (民族, 政治面貌, …)
                continue
        if hidden and number in hidden:
            hidden_rows.append(number)
            if not include_hidden:
                continue
        if chars > MAX_TEXT_CHARS:
            raise ImportFileError("文件中的文字内容过多，请拆分成几个文件后再上传")
        if dates:
            moved += [(len(rows), c, kind, text) for c, kind, text in dates]
        rows.append((number, cells))
        rows, moved = stream.step(rows, moved, max_rows)
    rows, moved = stream.end(rows, moved)
    return ("ok", clean_text(sheet_name), out_keys, rows, unknown, moved,
            {"ignored": ignored, "hidden": hidden_rows, "filtered": bool(layout.get("filtered")),
             "header_rows": (first + 1, hdr_index + 1)})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        _zygote_main(int(sys.argv[2]), sys.argv[3])
    else:
        _child_main()
