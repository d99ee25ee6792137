"""Reading a staff roster (CSV) for `python -m bot import-staff`.

The file is UTF-8 with a header row. Columns, in English or Chinese: name (姓名), section (科室), role (角色),
and optionally telegram (an @username or a numeric Telegram id) and kind (类型: office/科室 or station/站所,
for sections that do not exist yet). The first bad row stops everything with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from storage.models import NAME_MAX_LENGTH, Role, SectionKind

COLUMNS = {
    "name": ("name", "姓名", "名字"),
    "section": ("section", "科室", "部门", "站所"),
    "role": ("role", "角色", "职务"),
    "telegram": ("telegram", "电报", "tg"),
    "kind": ("kind", "section_kind", "类型"),
}
ROLES = {
    "staff": Role.STAFF, "工作人员": Role.STAFF, "科员": Role.STAFF, "职工": Role.STAFF,
    "head": Role.HEAD, "科室负责人": Role.HEAD, "负责人": Role.HEAD, "科长": Role.HEAD, "站长": Role.HEAD,
    "leader": Role.LEADER, "局领导": Role.LEADER, "领导": Role.LEADER,
    "admin": Role.ADMIN, "管理员": Role.ADMIN,
}  # fmt: skip
KINDS = {"office": SectionKind.OFFICE, "科室": SectionKind.OFFICE, "station": SectionKind.STATION,
         "站所": SectionKind.STATION, "站": SectionKind.STATION}  # fmt: skip
USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
TELEGRAM_ID = re.compile(r"\d{1,15}")
MAX_PROBLEMS = 30


class RosterError(Exception):
    """Problems in the file, one a line, each naming its line in the file."""


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    section: str | None
    role: Role
    kind: SectionKind
    telegram_id: int | None
    username: str | None


def read_roster(data: bytes) -> list[RosterRow]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError("line 1: the file is empty; it needs a header row (name, section, role, telegram)") from None
    positions = _columns(header)
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[object, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        try:
            row = _row(line, cells, positions)
        except RosterError as problem:
            problems.append(str(problem))
            continue
        for key in _identities(row):
            if key in seen:
                problems.append(f"line {line}: the same person as on line {seen[key]}")
                break
            seen[key] = line
        rows.append(row)
    if problems:
        raise RosterError("\n".join(problems[:MAX_PROBLEMS]))
    if not rows:
        raise RosterError("line 2: there are no people in the file, only the header")
    return rows


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise RosterError(f"line {line}: this is not UTF-8 text; save the file as “CSV UTF-8” and try again") from None


def _columns(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower().lstrip("\ufeff") for cell in header]
    positions: dict[str, int] = {}
    for column, spellings in COLUMNS.items():
        for index, name in enumerate(names):
            if name in spellings:
                positions[column] = index
    for required in ("name", "section", "role"):
        if required not in positions:
            raise RosterError(f"line 1: no “{required}” column; the header needs name, section and role")
    return positions


def _cell(cells: list[str], positions: dict[str, int], column: str) -> str:
    index = positions.get(column)
    return " ".join(cells[index].split()) if index is not None and index < len(cells) else ""


def _row(line: int, cells: list[str], positions: dict[str, int]) -> RosterRow:
    name = _cell(cells, positions, "name")
    if not name:
        raise RosterError(f"line {line}: the name is empty")
    if len(name) > NAME_MAX_LENGTH:
        raise RosterError(f"line {line}: the name is longer than {NAME_MAX_LENGTH} characters")
    raw_role = _cell(cells, positions, "role")
    role = ROLES.get(raw_role.lower())
    if role is None:
        raise RosterError(f"line {line}: unknown role “{raw_role}” (expected staff, head, leader or admin)")
    section = _cell(cells, positions, "section") or None
    if section is None and role in (Role.STAFF, Role.HEAD):
        raise RosterError(f"line {line}: {role.value} needs a section")
    if section is not None and len(section) > NAME_MAX_LENGTH:
        raise RosterError(f"line {line}: the section name is longer than {NAME_MAX_LENGTH} characters")
    raw_kind = _cell(cells, positions, "kind")
    kind = KINDS.get(raw_kind.lower() or "office")
    if kind is None:
        raise RosterError(f"line {line}: unknown kind “{raw_kind}” (expected office/科室 or station/站所)")
    telegram_id, username = _telegram(line, _cell(cells, positions, "telegram"))
    return RosterRow(line, name, section, role, kind, telegram_id, username)


def _telegram(line: int, value: str) -> tuple[int | None, str | None]:
    if not value:
        return None, None
    if TELEGRAM_ID.fullmatch(value):
        return int(value), None
    if match := USERNAME.fullmatch(value):
        return None, match.group(1).lower()
    raise RosterError(f"line {line}: “{value}” is neither a Telegram @username nor a numeric Telegram id")


def _identities(row: RosterRow) -> list[object]:
    keys: list[object] = [("name", row.name, row.section)]
    if row.telegram_id is not None:
        keys.append(("id", row.telegram_id))
    if row.username is not None:
        keys.append(("username", row.username))
    return keys
