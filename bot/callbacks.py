"""Typed callback data: ASCII `<prefix>:<field>:...`, at most 64 bytes, ids only.

A subclass is a frozen dataclass with a PREFIX; `pack()` makes the button's data and `parse()` reads it back,
returning None for anything malformed (forged, or from an old version of the bot). The handlers still check
every field against the database: parsing only proves the shape.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any, ClassVar, Self, get_type_hints

CALLBACK_DATA_LIMIT = 64
_INT = re.compile(r"-?\d{1,19}")
_WORD = re.compile(r"[A-Za-z0-9_-]{0,40}")


_PREFIXES: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class CallbackData:
    PREFIX: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Two kinds of button with one prefix would take each other's presses: refused when the second is made."""
        super().__init_subclass__(**kwargs)
        name = f"{cls.__module__}.{cls.__qualname__}"
        taken = _PREFIXES.setdefault(cls.PREFIX, name)
        if taken != name:
            raise TypeError(f"callback prefix {cls.PREFIX!r} of {name} is taken by {taken}")

    def pack(self) -> str:
        parts = [self.PREFIX, *(_encode(getattr(self, field.name)) for field in dataclasses.fields(self))]
        data = ":".join(parts)
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def pattern(cls) -> str:
        return f"^{re.escape(cls.PREFIX)}(:|$)"

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        if not data:
            return None
        prefix, *raw_values = data.split(":")
        fields = dataclasses.fields(cls)
        if prefix != cls.PREFIX or len(raw_values) != len(fields):
            return None
        hints = _field_types(cls)
        values: dict[str, Any] = {}
        for field, raw in zip(fields, raw_values, strict=True):
            value = _decode(hints[field.name], raw)
            if value is None:
                return None
            values[field.name] = value
        return cls(**values)


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    """The fields' types, worked out once per class (`get_type_hints` evaluates the annotations every time)."""
    hints = _FIELD_TYPES.get(cls)
    if hints is None:
        hints = _FIELD_TYPES[cls] = get_type_hints(cls)
    return hints


def _encode(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _decode(kind: Any, raw: str) -> object | None:
    if kind is bool:
        return {"1": True, "0": False}.get(raw)
    if kind is int:
        return int(raw) if _INT.fullmatch(raw) else None
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(raw)
        except ValueError:
            return None
    if kind is str:
        return raw if _WORD.fullmatch(raw) else None
    raise TypeError(f"callback fields are int, bool, str or enums, not {kind!r}")
