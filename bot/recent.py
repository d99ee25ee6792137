"""A bounded memory of recently used things: the least recently used go first when it is full."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def add(self, key: K, value: V) -> bool:
        """Puts `value` under `key` unless the key is there; whether it was new."""
        if key in self._items:
            self._items.move_to_end(key)
            return False
        self.put(key, value)
        return True

    def __len__(self) -> int:
        return len(self._items)
