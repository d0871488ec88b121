"""A small thread-safe LRU map."""

from __future__ import annotations

import collections
import threading
from typing import Generic, Hashable, TypeVar

V = TypeVar('V')


class LRU(Generic[V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: collections.OrderedDict[Hashable, V] = (
            collections.OrderedDict())
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
