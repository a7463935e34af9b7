"""The distributions and called-party outcomes of both simulators (a base module: no sim imports).

The PBX simulator (``dialer/sim/scenario.py``) and the pacing simulator
(``dialer/pacing/sim/scenario.py``) read durations from TOML with one parser,
:func:`parse_distribution`.  A distribution is a number (fixed) or a table::

    { dist = "fixed", value = 4.5 }                 # `mean` is accepted for `value`
    { dist = "uniform", low = 1, high = 3 }
    { dist = "exponential", mean = 20 }
    { dist = "normal", mean = 60, sd = 20 }         # or cv = 0.33 (sd = cv x mean)
    { dist = "lognormal", mean = 60, sd = 40 }      # or cv = 0.67
    { dist = "gamma", mean = 20, cv = 0.5 }         # or sd = 10

each optionally bounded by ``min`` (default 0) and ``max`` (default infinity): a sample
outside is clamped.  Keys are strict: an unknown or missing key, a non-number, or a value out
of range is a :class:`DistributionError` (a ``ValueError``) naming the key.

``sd`` and ``cv`` are both kept as written (exactly one of them): the PBX simulator's files
say ``sd``, the pacing benchmark's say ``cv``, and each is sampled with the arithmetic its
simulator used before the two parsers were merged, so the same seed gives the same draws
bit for bit (``tests/test_distributions.py`` holds samples of the old code).

:class:`PartyOutcome` is the one vocabulary of what a dialled number does.  The PBX simulator
models all seven; the pacing simulator models five (:data:`PACING_OUTCOMES`) and folds the
other two into them (:data:`PACING_FOLD`): *congestion* counts as *busy* (a fast network
signal after a short wait), *unavailable* as *invalid* (both are ``CHANUNAVAIL``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar


class PartyOutcome(StrEnum):
    """What happens to one dial attempt at the called party's end."""

    HUMAN = "human"  # a person answers
    MACHINE = "machine"  # an answering machine answers
    BUSY = "busy"
    CONGESTION = "congestion"  # the network is congested
    INVALID = "invalid"  # no such number
    NO_ANSWER = "no_answer"  # rings until the ring timeout
    UNAVAILABLE = "unavailable"  # the subscriber cannot be reached (switched off, no signal)


#: The outcomes the pacing simulator models, in the order its engine indexes them.
PACING_OUTCOMES: tuple[PartyOutcome, ...] = (
    PartyOutcome.HUMAN,
    PartyOutcome.MACHINE,
    PartyOutcome.BUSY,
    PartyOutcome.NO_ANSWER,
    PartyOutcome.INVALID,
)

#: The outcomes the pacing simulator does not model, and the one each counts as.
PACING_FOLD: Mapping[PartyOutcome, PartyOutcome] = {
    PartyOutcome.CONGESTION: PartyOutcome.BUSY,
    PartyOutcome.UNAVAILABLE: PartyOutcome.INVALID,
}


class DistributionError(ValueError):
    """A distribution table is wrong; ``key`` is the dotted path of the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """Base of every kind: the clamp bounds and the table form."""

    kind: ClassVar[str] = ""
    min: float = 0.0
    max: float = math.inf

    def sample(self, rng: random.Random) -> float:
        """One draw from ``rng``, clamped to ``[min, max]``."""
        return min(max(self._draw(rng), self.min), self.max)

    def _draw(self, rng: random.Random) -> float:
        raise NotImplementedError

    if TYPE_CHECKING:  # a field of most kinds, a property of the others

        @property
        def mean(self) -> float:
            """The mean before clamping."""

    def to_data(self) -> dict[str, Any]:
        """The TOML table that :func:`parse_distribution` reads back to an equal object."""
        data: dict[str, Any] = {"dist": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != f.default:
                data[f.name] = value
        return data


@dataclass(frozen=True)
class Fixed(Distribution):
    kind: ClassVar[str] = "fixed"
    value: float

    def _draw(self, rng: random.Random) -> float:
        return self.value

    @property
    def mean(self) -> float:
        return self.value


@dataclass(frozen=True)
class Uniform(Distribution):
    kind: ClassVar[str] = "uniform"
    low: float
    high: float

    def _draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Exponential(Distribution):
    kind: ClassVar[str] = "exponential"
    mean: float

    def _draw(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True)
class _Spread(Distribution):
    """A kind given by its mean and one of ``sd`` / ``cv`` (exactly one is set)."""

    mean: float
    sd: float | None = None
    cv: float | None = None

    def __post_init__(self) -> None:
        if (self.sd is None) == (self.cv is None):
            raise ValueError(f"{self.kind} needs exactly one of sd and cv")

    def _sd(self) -> float:
        if self.sd is not None:
            return self.sd
        assert self.cv is not None
        return self.cv * self.mean

    def _cv(self) -> float:
        if self.cv is not None:
            return self.cv
        assert self.sd is not None
        return self.sd / self.mean


@dataclass(frozen=True)
class Normal(_Spread):
    kind: ClassVar[str] = "normal"

    def _draw(self, rng: random.Random) -> float:
        return rng.gauss(self.mean, self._sd())


@dataclass(frozen=True)
class LogNormal(_Spread):
    """Parametrised by its own mean and spread (not those of the underlying normal)."""

    kind: ClassVar[str] = "lognormal"

    def _draw(self, rng: random.Random) -> float:
        if self.cv is not None:  # the pacing simulator's arithmetic
            sigma2 = math.log1p(self.cv * self.cv)
        else:  # the PBX simulator's
            sigma2 = math.log(1 + (self._sd() / self.mean) ** 2)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True)
class Gamma(_Spread):
    kind: ClassVar[str] = "gamma"

    def _draw(self, rng: random.Random) -> float:
        cv = self._cv()
        shape = 1.0 / (cv * cv)
        return rng.gammavariate(shape, self.mean / shape)


KINDS: Mapping[str, type[Distribution]] = {
    k.kind: k for k in (Fixed, Uniform, Exponential, Normal, LogNormal, Gamma)
}

_BOUNDS = ("min", "max")
_KEYS: Mapping[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "normal": ("mean", "sd", "cv"),
    "lognormal": ("mean", "sd", "cv"),
    "gamma": ("mean", "sd", "cv"),
}


def _number(data: Mapping[str, Any], key: str, where: str, *, allow_inf: bool = False) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DistributionError(f"{where}.{key}", f"must be a number, got {value!r}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise DistributionError(f"{where}.{key}", f"must be a finite number, got {value!r}")
    return x


def parse_distribution(spec: Any, where: str = "distribution") -> Distribution:
    """A distribution from a TOML value; ``where`` (a dotted key path) prefixes every error."""
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return Fixed(_number({"value": spec}, "value", where, allow_inf=True))
    if not isinstance(spec, Mapping):
        raise DistributionError(where, f"expected a number or a table, got {spec!r}")
    table = dict(spec)
    kind = table.pop("dist", "fixed")
    if kind not in KINDS:
        raise DistributionError(f"{where}.dist", f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    allowed = _KEYS[kind] + _BOUNDS
    for key in table:
        if key not in allowed and not (kind == "fixed" and key == "mean"):
            raise DistributionError(f"{where}.{key}", f"unknown key for {kind} (it takes {', '.join(allowed)})")
    kwargs = {k: _number(table, k, where, allow_inf=k == "max" or kind == "fixed") for k in table}
    if kind == "fixed" and "mean" in kwargs:  # the pacing simulator's spelling
        if "value" in kwargs:
            raise DistributionError(f"{where}.mean", "give value or mean, not both")
        kwargs["value"] = kwargs.pop("mean")
    _check(kind, kwargs, where)
    return KINDS[kind](**kwargs)


def _check(kind: str, kw: dict[str, float], where: str) -> None:
    """Required keys and ranges; raises naming the first key at fault."""
    required = {"fixed": ("value",), "uniform": ("low", "high")}.get(kind, ("mean",))
    for key in required:
        if key not in kw:
            raise DistributionError(f"{where}.{key}", f"missing (a {kind} distribution needs {', '.join(required)})")
    if kind in ("normal", "lognormal", "gamma"):
        given = [k for k in ("sd", "cv") if k in kw]
        if len(given) != 1:
            key = f"{where}.cv" if given else f"{where}.sd"
            raise DistributionError(key, f"a {kind} distribution needs exactly one of sd and cv")
        spread = given[0]
        if kw[spread] < 0:
            raise DistributionError(f"{where}.{spread}", f"must be >= 0, got {kw[spread]:g}")
    if "mean" in kw and kw["mean"] <= 0:
        raise DistributionError(f"{where}.mean", f"must be > 0, got {kw['mean']:g}")
    if kind == "gamma":
        cv = kw["cv"] if spread == "cv" else kw["sd"] / kw["mean"]
        if cv * cv == 0:  # the shape 1/cv² would be infinite
            raise DistributionError(f"{where}.{spread}", f"must be > 0, got {kw[spread]:g}")
    if kind == "uniform" and kw["high"] < kw["low"]:
        raise DistributionError(f"{where}.high", f"must be >= low ({kw['low']:g}), got {kw['high']:g}")
    if kw.get("min", 0.0) > kw.get("max", math.inf):
        raise DistributionError(f"{where}.max", f"must be >= min ({kw['min']:g}), got {kw['max']:g}")


__all__ = [
    "KINDS",
    "PACING_FOLD",
    "PACING_OUTCOMES",
    "Distribution",
    "DistributionError",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "PartyOutcome",
    "Uniform",
    "parse_distribution",
]
