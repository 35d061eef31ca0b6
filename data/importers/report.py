"""What an import found and did: row errors, warnings, counts, and the bilingual text report.

Every problem names the file, the row as a person sees it in a spreadsheet (the header is
row 1; for geographic files the 1-based feature number), the column and the offending value,
with the reason in Chinese and English.  Reasons are fixed phrases so that the report can
group them ("unknown unit code: 37 rows") instead of listing a wall of near-duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: How many rows of one reason the text report lists before summarising the rest.
MAX_LISTED_PER_REASON = 20


@dataclass(frozen=True)
class RowError:
    """One problem with one value (or a whole row / the whole file when row is None)."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason_zh: str
    reason_en: str

    def location(self) -> str:
        parts = [Path(self.file).name]
        if self.row is not None:
            parts.append(f"第{self.row}行 / row {self.row}")
        if self.column:
            parts.append(f"列 / column「{self.column}」")
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            parts.append(f"值 / value {shown!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ReportWarning:
    """Something worth a look that does not stop the import (gaps, overlaps, repairs)."""

    message_zh: str
    message_en: str
    units: tuple[str, ...] = ()
    area_km2: float | None = None

    def text(self) -> str:
        area = f" ({self.area_km2:.3f} km²)" if self.area_km2 is not None else ""
        units = f" [{', '.join(self.units)}]" if self.units else ""
        return f"{self.message_zh} / {self.message_en}{units}{area}"


@dataclass
class ImportReport:
    """Outcome of one import.

    Attributes
    ----------
    kind : str
        ``units``, ``boundaries``, ``cases``, ``patrols`` or ``risks``.
    file : str
        The file that was read.
    dry_run : bool
        True when nothing was written on purpose.
    counts : dict
        ``inserted``, ``updated``, ``unchanged`` (rows of the database table) and
        ``rejected`` (rows of the file left out under ``skip_bad``), ``read`` (data rows read).
    errors : list of RowError
    warnings : list of ReportWarning
    rejects_path : Path or None
        Where the rejected rows were written (``skip_bad`` only).
    written : bool
        True when the transaction committed changes.
    """

    kind: str
    file: str
    dry_run: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "read": 0,
            "inserted": 0,
            "updated": 0,
            "unchanged": 0,
            "rejected": 0,
        }
    )
    errors: list[RowError] = field(default_factory=list)
    warnings: list[ReportWarning] = field(default_factory=list)
    rejects_path: Path | None = None
    written: bool = False
    day_range: tuple[object, object] | None = None

    @property
    def inserted(self) -> int:
        return self.counts["inserted"]

    @property
    def updated(self) -> int:
        return self.counts["updated"]

    @property
    def unchanged(self) -> int:
        return self.counts["unchanged"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(
        self,
        row: int | None,
        column: str | None,
        value: object,
        reason_zh: str,
        reason_en: str,
    ) -> RowError:
        err = RowError(
            self.file,
            row,
            column,
            None if value is None else str(value),
            reason_zh,
            reason_en,
        )
        self.errors.append(err)
        return err

    def warn(
        self,
        message_zh: str,
        message_en: str,
        units: tuple[str, ...] = (),
        area_km2: float | None = None,
    ) -> None:
        self.warnings.append(ReportWarning(message_zh, message_en, tuple(units), area_km2))

    def errors_by_reason(self) -> dict[tuple[str, str], list[RowError]]:
        groups: dict[tuple[str, str], list[RowError]] = {}
        for err in self.errors:
            groups.setdefault((err.reason_zh, err.reason_en), []).append(err)
        return groups

    def format(self, max_listed: int = MAX_LISTED_PER_REASON) -> str:
        """The grouped bilingual text the CLI prints."""
        mode = " (试运行，未写入 / dry run, nothing written)" if self.dry_run else ""
        lines = [f"导入 / import {self.kind}: {self.file}{mode}"]
        c = self.counts
        verb = "将" if self.dry_run else ""
        lines.append(
            f"  读取 read {c['read']} 行/rows; {verb}新增 inserted {c['inserted']}, "
            f"{verb}更新 updated {c['updated']}, 未变 unchanged {c['unchanged']}, "
            f"拒绝 rejected {c['rejected']}"
        )
        if self.day_range:
            lines.append(f"  日期范围 / days: {self.day_range[0]} – {self.day_range[1]}")
        groups = self.errors_by_reason()
        if groups:
            lines.append(f"错误 / errors: {len(self.errors)} ({len(groups)} 类 / kinds)")
            for (zh, en), errs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                lines.append(f"  ✗ {zh} / {en}: {len(errs)}")
                for err in errs[:max_listed]:
                    lines.append(f"      {err.location()}")
                if len(errs) > max_listed:
                    more = len(errs) - max_listed
                    lines.append(f"      …另有 {more} 处 / and {more} more")
        if self.warnings:
            lines.append(f"警告 / warnings: {len(self.warnings)}")
            for w in self.warnings[: max_listed * 5]:
                lines.append(f"  ! {w.text()}")
            if len(self.warnings) > max_listed * 5:
                lines.append(f"  …另有 / and {len(self.warnings) - max_listed * 5} more")
        if self.rejects_path is not None:
            lines.append(f"被拒行已写入 / rejected rows written to: {self.rejects_path}")
        if self.errors and not self.written and not self.dry_run and c["rejected"] == 0:
            lines.append("未写入任何数据 / nothing was written: fix the file or use --skip-bad")
        elif self.written:
            lines.append("已写入数据库 / committed")
        return "\n".join(lines)


class ImportFailed(Exception):
    """The import was refused (bad rows, unreadable file) or rolled back; nothing was written.

    The :class:`ImportReport` is in ``.report``; ``str(exc)`` is its text.
    """

    def __init__(self, report: ImportReport):
        super().__init__(report.format())
        self.report = report
