"""Fault injection: the failures a real org produces, on demand and, given a seed, reproducibly."""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass


@dataclass
class Faults:
    error_rate: float = 0.0  # share of API calls answered 503 SERVER_UNAVAILABLE before doing anything
    request_limit_exceeded: bool = False  # every API call answered 403 REQUEST_LIMIT_EXCEEDED
    lock_rate: float = 0.0  # share of records in collections and bulk jobs failing with UNABLE_TO_LOCK_ROW
    latency_ms: int = 0  # added to every request, the token endpoint included
    seed: int | None = None  # makes error_rate and lock_rate draws reproducible

    @classmethod
    def from_dict(cls, data: dict) -> Faults:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        faults = cls(**data)
        if not (0 <= faults.error_rate <= 1 and 0 <= faults.lock_rate <= 1):
            raise ValueError("error_rate and lock_rate are shares between 0 and 1")
        return faults


class FaultState:
    """The current settings and their random draws, shared by the server's threads."""

    def __init__(self, faults: Faults):
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._random = random.Random(faults.seed)  # noqa: S311 - fault draws, not secrets

    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def server_error(self) -> bool:
        return self._draw(self.faults.error_rate)

    def row_locked(self) -> bool:
        return self._draw(self.faults.lock_rate)
