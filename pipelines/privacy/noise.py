"""Calibrated noise that the same release draws again and another release draws afresh.

Each noisy figure gets its own random stream: SHAKE-256 over a secret key and the figure's
name (release, unit, month, statistic, value). The same release of the same snapshot and
parameters therefore publishes the same figures; another release of the same cell draws
independent noise, which the ledger pays for. The key (data/privacy/noise.key, made on first
use, never published) keeps the noise unpredictable to a reader: without it nobody can
regenerate the stream and subtract it.

The noise is the discrete Gaussian: integers with P(x) proportional to exp(-x^2 / 2 sigma^2),
sampled exactly with integer arithmetic by the algorithm of Canonne, Kamath and Steinke,
"The Discrete Gaussian for Differential Privacy" (NeurIPS 2020), so no floating-point rounding
leaks anything (Mironov 2012). OpenDP's samplers are exact too but by design cannot be seeded,
and published figures must be reproducible; OpenDP does the calibration and the accounting
(pipelines/privacy/accounting.py).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from fractions import Fraction
from math import isqrt
from pathlib import Path

from pipelines.core.paths import data_dir

KEY_ENV = "CARD_INSIGHTS_NOISE_KEY"


class KeyedStream:
    """Uniform integers from SHAKE-256(key || label): deterministic for a label, unpredictable
    without the key."""

    _CHUNK = 1 << 12

    def __init__(self, key: bytes, label: str):
        self._xof = hashlib.shake_256(key + b"\0" + label.encode())
        self._buffer = b""
        self._drawn = 0

    def _bytes(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._drawn += self._CHUNK
            # shake_256 gives a prefix of one endless stream: ask for more and keep the new part.
            self._buffer += self._xof.digest(self._drawn)[self._drawn - self._CHUNK :]
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), by rejection so that it is exactly uniform."""
        bits = (n - 1).bit_length()
        width = (bits + 7) // 8
        while True:
            value = int.from_bytes(self._bytes(width), "big") >> (8 * width - bits)
            if value < n:
                return value


def _bernoulli(p: Fraction, rng: KeyedStream) -> bool:
    return rng.below(p.denominator) < p.numerator


def _bernoulli_exp_at_most_one(gamma: Fraction, rng: KeyedStream) -> bool:
    """Bernoulli(exp(-gamma)) for 0 <= gamma <= 1."""
    k = 1
    while _bernoulli(gamma / k, rng):
        k += 1
    return k % 2 == 1


def _bernoulli_exp(gamma: Fraction, rng: KeyedStream) -> bool:
    """Bernoulli(exp(-gamma)) for gamma >= 0."""
    while gamma > 1:
        if not _bernoulli_exp_at_most_one(Fraction(1), rng):
            return False
        gamma -= 1
    return _bernoulli_exp_at_most_one(gamma, rng)


def _geometric_exp(gamma: Fraction, rng: KeyedStream) -> int:
    """P(k) proportional to exp(-gamma k), k >= 0, for gamma = s / t > 0."""
    s, t = gamma.numerator, gamma.denominator
    while True:
        u = rng.below(t)
        if _bernoulli_exp(Fraction(u, t), rng):
            break
    v = 0
    while _bernoulli_exp(Fraction(1), rng):
        v += 1
    return (v * t + u) // s


def _discrete_laplace(scale: int, rng: KeyedStream) -> int:
    while True:
        negative = _bernoulli(Fraction(1, 2), rng)
        magnitude = _geometric_exp(Fraction(1, scale), rng)
        if not (negative and magnitude == 0):
            return -magnitude if negative else magnitude


def discrete_gaussian(sigma: Fraction, rng: KeyedStream) -> int:
    """One sample of the discrete Gaussian with parameter sigma (std close to sigma)."""
    sigma2 = sigma * sigma
    t = isqrt(sigma2.numerator // sigma2.denominator) + 1
    while True:
        candidate = _discrete_laplace(t, rng)
        bias = (abs(candidate) - sigma2 / t) ** 2 / (2 * sigma2)
        if _bernoulli_exp(bias, rng):
            return candidate


def noise_key() -> bytes:
    """The secret noise key: CARD_INSIGHTS_NOISE_KEY (tests fix it so that nbval compares the
    same figures), else data/privacy/noise.key, made once from the system's randomness."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = data_dir() / "privacy" / "noise.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return Path(path).read_bytes()


def noisy(value: int, sigma: float, label: str, key: bytes) -> int:
    """`value` plus discrete Gaussian noise of parameter `sigma`, the same for the same label."""
    return value + discrete_gaussian(Fraction(sigma).limit_denominator(10**9), KeyedStream(key, label))
