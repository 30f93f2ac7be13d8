"""How the fake gateway is told to misbehave: the standing mode, a script of modes, random draws."""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MODES = frozenset(
    {"ok", "error500", "error200", "rate_limit", "timeout", "reset", "slow", "invalid_number", "random"}
    | {"hold"}
)
# Timeouts are left out of the default mix: one would hold a client for its whole timeout.
DEFAULT_RANDOM_WEIGHTS = {
    "ok": 70,
    "error500": 10,
    "error200": 5,
    "rate_limit": 5,
    "reset": 5,
    "invalid_number": 5,
}
SUCCESS_MODES = frozenset({"ok", "slow", "hold"})
# "hold": every send request waits, then all are answered ok once the mode is changed (benchmarks queue a
# backlog behind it and release it at once).
WITHHOLDING_MODES = frozenset({"timeout", "reset", "slow", "hold"})
# Balance requests follow the standing mode (never the script) in these; in any other mode they answer.
BALANCE_MODES = frozenset({"error500", "timeout", "reset", "slow", "rate_limit"})
CONFIG_KEYS = frozenset({"mode", "delay", "retry_after", "script", "random_weights", "seed", "balance"})


@dataclass
class ModeConfig:
    mode: str = "ok"
    delay: float = 0.5
    retry_after: float = 1.0
    script: deque[str] = field(default_factory=deque)
    random_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RANDOM_WEIGHTS))
    seed: int | None = None
    balance: float | None = None  # None: each gateway reports its own example balance
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> ModeConfig:
        """The whole configuration from a POST /_fake/mode body; keys left out take their defaults."""
        if not isinstance(data, dict):
            raise ValueError('send a JSON object such as {"mode": "error500"}')
        unknown = set(data) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        script = data.get("script") or []
        if not isinstance(script, list):
            raise ValueError("script must be a list of modes")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("seed must be a whole number")
        return cls(
            mode=_checked_mode(data.get("mode", "ok")),
            delay=_checked_seconds(data, "delay", 0.5),
            retry_after=_checked_seconds(data, "retry_after", 1.0),
            script=deque(_checked_mode(m) for m in script),
            random_weights=_checked_weights(data.get("random_weights") or DEFAULT_RANDOM_WEIGHTS),
            seed=seed,
            balance=_checked_balance(data.get("balance")),
            rng=random.Random(seed),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "delay": self.delay,
            "retry_after": self.retry_after,
            "script": list(self.script),
            "random_weights": self.random_weights,
            "seed": self.seed,
            "balance": self.balance,
        }

    def next_mode(self) -> str:
        """The mode for the next send request: the script's next step, else the standing mode."""
        mode = self.script.popleft() if self.script else self.mode
        if mode == "random":
            mode = self.rng.choices(list(self.random_weights), weights=list(self.random_weights.values()))[0]
        return mode


def _checked_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
    return mode


def _checked_balance(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"balance must be a number, not {value!r}")
    return value


def _checked_seconds(data: dict[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _checked_weights(weights: Any) -> dict[str, float]:
    if not isinstance(weights, dict) or not weights:
        raise ValueError("random_weights must be an object of mode: weight")
    for mode, weight in weights.items():
        if _checked_mode(mode) == "random" or isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"bad random weight {mode!r}: {weight!r}")
        if weight < 0:
            raise ValueError(f"random weights must be >= 0, not {mode!r}: {weight!r}")
    if sum(weights.values()) <= 0:
        raise ValueError("random_weights must not all be 0")
    return {mode: float(weight) for mode, weight in weights.items()}
