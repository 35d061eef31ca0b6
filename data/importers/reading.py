"""Reading tables (CSV in UTF-8 or GBK, Excel) and mapping their headers to our fields.

Rows keep their spreadsheet row number (header = row 1, or the row a title block pushes it
to) so that every error points where the user looks.  Values stay as the reader produced
them: strings from CSV, numbers/dates from Excel; :mod:`.validate` turns them into ours.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tomllib
import zipfile
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path

from data.importers.report import ImportFailed, ImportReport

#: Encodings tried in order when ``encoding="auto"``: Excel's "CSV UTF-8" writes a BOM, and
#: GB18030 is a superset of GBK/GB2312 that the Chinese Excel writes for plain "CSV".
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}

#: How many leading rows may hold a title block above the header row.
MAX_TITLE_ROWS = 10


@dataclass
class Table:
    """A read table: header cells and data rows with their spreadsheet row numbers."""

    file: str
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[object]]]
    encoding: str | None = None
    bad_rows: set[int] = field(default_factory=set)


@dataclass
class Mapping:
    """User overrides from ``--mapping``: source header → field, and value renames per field."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def values_for(self, name: str) -> dict[str, str]:
        return self.values.get(name, {})


def load_mapping_or_fail(path: str | os.PathLike | None, report: ImportReport) -> Mapping:
    """:func:`load_mapping`, recording an unreadable file on ``report`` and stopping the import."""
    try:
        return load_mapping(path)
    except (OSError, ValueError) as exc:
        report.add_error(
            None, "--mapping", str(exc), "映射文件无法读取", "cannot read the mapping file"
        )
        raise ImportFailed(report) from exc


def load_mapping(path: str | os.PathLike | None) -> Mapping:
    """Read a mapping file (TOML, or YAML when PyYAML is installed).

    The file has two parts::

        [columns]            # source header = our field
        "行政区划代码" = "code"
        "统计月份" = "day"

        [values.category]    # source value = our value (also level, stream, channel,
        "婚恋家庭纠纷" = "婚姻家庭"   # domain, risk_level)
    """
    if path is None:
        return Mapping()
    p = Path(path)
    text = p.read_bytes()
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # noqa: PLC0415 - optional dependency, only for YAML mapping files
        except ModuleNotFoundError:
            raise ValueError(
                "读取 YAML 需要 PyYAML，请改用 TOML / PyYAML is not installed: use a TOML file"
            ) from None
        data = yaml.safe_load(text.decode("utf-8-sig")) or {}
    else:
        data = tomllib.loads(text.decode("utf-8-sig"))
    columns = {str(k).strip(): str(v).strip() for k, v in (data.get("columns") or {}).items()}
    values = {
        str(name): {str(k).strip(): str(v).strip() for k, v in (table or {}).items()}
        for name, table in (data.get("values") or {}).items()
    }
    return Mapping(columns, values)


def normalize_header(text: object) -> str:
    """Compare headers without case, spaces, required-field stars or unit brackets."""
    h = str(text or "").replace("\ufeff", "").strip().lower()
    h = re.sub(r"[（(][^）)]*[)）]", "", h)
    return re.sub(r"[\s*:：_]", "", h)


def resolve_columns(
    header: list[str],
    aliases: AbcMapping[str, Iterable[str]],
    mapping: Mapping,
    forced: dict[str, str | None] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Which header position holds each field.

    Parameters
    ----------
    header : list of str
    aliases : dict
        field → accepted header spellings (built-in defaults).
    mapping : Mapping
        ``--mapping`` file; its columns win over the defaults.
    forced : dict
        field → header given on the command line (``--code-field``), wins over everything.

    Returns
    -------
    (positions, unused)
        field → column index, and the headers that were not used.
    """
    norm = [normalize_header(h) for h in header]
    positions: dict[str, int] = {}
    for target, source in (forced or {}).items():
        if source and normalize_header(source) in norm:
            positions[target] = norm.index(normalize_header(source))
    user = {normalize_header(k): v for k, v in mapping.columns.items()}
    for i, h in enumerate(norm):
        mapped = user.get(h)
        if mapped and mapped not in positions and i not in positions.values():
            positions[mapped] = i
    for target, names in aliases.items():
        if target in positions:
            continue
        for name in [target, *names]:
            key = normalize_header(name)
            if key in norm and norm.index(key) not in positions.values():
                positions[target] = norm.index(key)
                break
    used = set(positions.values())
    unused = [h for i, h in enumerate(header) if i not in used and str(h or "").strip()]
    return positions, unused


def decode_bytes(data: bytes, encoding: str, path: str, report: ImportReport) -> str | None:
    """Decode with ``encoding`` (or the auto list); report the first undecodable row."""
    candidates = AUTO_ENCODINGS if encoding in (None, "", "auto") else (encoding,)
    first_error: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
        except LookupError:
            report.add_error(None, None, enc, "未知的字符编码", "unknown encoding")
            return None
    assert first_error is not None
    row = data[: first_error.start].count(b"\n") + 1
    snippet = data[first_error.start : first_error.start + 8].hex(" ")
    report.add_error(
        row,
        None,
        snippet,
        f"文件编码无法识别（已尝试 {', '.join(candidates)}），请另存为 UTF-8 或用 --encoding 指定",
        f"cannot decode the file (tried {', '.join(candidates)}); save as UTF-8 or pass --encoding",
    )
    return None


def read_table(
    path: str | os.PathLike,
    report: ImportReport,
    aliases: AbcMapping[str, Iterable[str]],
    mapping: Mapping,
    encoding: str = "auto",
    sheet: str | None = None,
) -> Table | None:
    """Read a CSV or Excel file; ``None`` (with errors in ``report``) when it cannot be read."""
    p = Path(path)
    if not p.exists():
        report.add_error(None, None, str(p), "文件不存在", "file not found")
        return None
    if p.suffix.lower() == ".xls":
        report.add_error(
            None,
            None,
            p.name,
            "不支持旧版 .xls，请另存为 .xlsx",
            "old .xls is not supported: save as .xlsx",
        )
        return None
    if p.suffix.lower() in EXCEL_SUFFIXES:
        raw_rows, enc = _excel_rows(p, report, sheet), None
    else:
        raw_rows, enc = _csv_rows(p, report, encoding)
    if raw_rows is None:
        return None
    return _table(str(p), raw_rows, enc, report, aliases, mapping)


def _csv_rows(
    p: Path, report: ImportReport, encoding: str
) -> tuple[list[tuple[int, list[object]]] | None, str | None]:
    data = p.read_bytes()
    text = decode_bytes(data, encoding, str(p), report)
    if text is None:
        return None, None
    used = encoding if encoding not in (None, "", "auto") else _which_auto(data)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=True)
    rows: list[tuple[int, list[object]]] = []
    n = 0
    while True:
        n += 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add_error(
                n,
                None,
                str(exc),
                "CSV 格式错误（引号未闭合，文件可能被截断）",
                "malformed CSV (unclosed quote, the file may be truncated)",
            )
            break
        rows.append((n, list(fields)))
    return rows, used


def _which_auto(data: bytes) -> str:
    for enc in AUTO_ENCODINGS:
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return AUTO_ENCODINGS[-1]


def _excel_rows(
    p: Path, report: ImportReport, sheet: str | None
) -> list[tuple[int, list[object]]] | None:
    import openpyxl  # noqa: PLC0415 - only needed for Excel input
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        OSError,
        EOFError,
        ValueError,
    ) as exc:
        report.add_error(
            None,
            None,
            type(exc).__name__,
            "Excel 文件已损坏或不完整",
            "the Excel file is damaged or incomplete",
        )
        return None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        elif sheet.isdigit() and 0 < int(sheet) <= len(book.worksheets):
            ws = book.worksheets[int(sheet) - 1]
        else:
            report.add_error(
                None,
                "--sheet",
                sheet,
                f"工作表不存在（有：{'、'.join(book.sheetnames)}）",
                f"no such sheet (have: {', '.join(book.sheetnames)})",
            )
            return None
        rows = []
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            rows.append((n, list(values)))
        return rows
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        report.add_error(
            None,
            None,
            type(exc).__name__,
            "Excel 文件已损坏或不完整",
            "the Excel file is damaged or incomplete",
        )
        return None
    finally:
        book.close()


def _blank_row(values: list[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _table(
    file: str,
    raw_rows: list[tuple[int, list[object]]],
    encoding: str | None,
    report: ImportReport,
    aliases: AbcMapping[str, Iterable[str]],
    mapping: Mapping,
) -> Table | None:
    # The header is the first row among the leading few that names the most known fields:
    # Chinese statistical sheets often carry a title and a unit line above it.
    best, best_hits = None, 0
    for idx, (_, values) in enumerate(raw_rows[:MAX_TITLE_ROWS]):
        if _blank_row(values):
            continue
        positions, _ = resolve_columns([str(v or "") for v in values], aliases, mapping)
        if len(positions) > best_hits:
            best, best_hits = idx, len(positions)
        if best is None:
            best = idx
    if best is None:
        report.add_error(None, None, None, "文件为空", "the file is empty")
        return None
    header_row, header_values = raw_rows[best]
    # Trailing empty header cells (Excel's used range) are not columns.
    while header_values and (header_values[-1] is None or str(header_values[-1]).strip() == ""):
        header_values = header_values[:-1]
    header = [str(v).replace("\ufeff", "").strip() if v is not None else "" for v in header_values]
    width = len(header)
    table = Table(file, header, header_row, [], encoding)
    is_excel = Path(file).suffix.lower() in EXCEL_SUFFIXES
    for n, values in raw_rows[best + 1 :]:
        if _blank_row(values):
            continue
        if is_excel:
            values = (values + [None] * width)[:width] if len(values) < width else values
            if len(values) > width and not _blank_row(values[width:]):
                values = values[:width]
            values = values[:width]
        elif len(values) != width:
            if len(values) < width:
                report.add_error(
                    n,
                    None,
                    ",".join(str(v) for v in values),
                    f"字段数少于表头（{len(values)}/{width}），该行可能被截断",
                    f"fewer fields than the header ({len(values)}/{width}); the row may be truncated",
                )
            else:
                report.add_error(
                    n,
                    None,
                    ",".join(str(v) for v in values),
                    f"字段数多于表头（{len(values)}/{width}），可能缺少引号",
                    f"more fields than the header ({len(values)}/{width}); a comma may need quotes",
                )
            table.bad_rows.add(n)
        table.rows.append((n, list(values)))
    return table


def default_rejects_path(path: str | os.PathLike) -> Path:
    """``<name>.rejects.csv`` next to the input, or in the working folder if that is read-only."""
    p = Path(path)
    target = p.with_name(p.stem + ".rejects.csv")
    if os.access(p.parent, os.W_OK):
        return target
    return Path.cwd() / target.name


def write_rejects(path: Path, header: list[str], rows: list[tuple[list[object], str]]) -> Path:
    """Write the rejected rows unchanged plus a reason column (UTF-8 with BOM, for Excel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*header, "拒绝原因 reason"])
        for values, reason in rows:
            cells = ["" if v is None else v for v in values]
            cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
            writer.writerow([*cells, reason])
    return path
