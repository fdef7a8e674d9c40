"""Simulated time: a clock that runs `speed` simulated seconds per real second.

Every duration the sandbox simulates (task start-up, health-check intervals,
deregistration delays) is measured on this clock, so a rollout that takes
minutes on ECS takes seconds here, and tests can pause it and step it by hand.
"""

from __future__ import annotations

import threading
import time


class SimClock:
    """Simulated seconds since the sandbox started (the simulation maps them to wall time)."""

    def __init__(self, speed: float = 60.0) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._real0 = time.monotonic()
        self._sim0 = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._sim0 + (time.monotonic() - self._real0) * self._speed

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            # Re-base so the change never makes time jump or run backwards.
            real = time.monotonic()
            self._sim0 += (real - self._real0) * self._speed
            self._real0 = real
            self._speed = float(speed)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock never goes back")
        with self._lock:
            self._sim0 += seconds
