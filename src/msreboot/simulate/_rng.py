"""Per-patient random streams: numpy ``SeedSequence`` keys, xoshiro256** generators, draws.

Every patient owns independent streams, one per purpose (baseline characteristics, disease
course, observation, transplant procedure). Stream ``s`` of patient ``p`` is seeded exactly
as ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (p, s))`` seeds a generator:
its first four 64-bit words (``generate_state(4, np.uint64)``) become the state of a
xoshiro256** generator. The hashing runs in compiled code so that a million patients cost
milliseconds, and is checked against numpy word for word in the tests. A patient's draws
therefore depend only on the root seed and the patient's index: not on how many patients
are simulated with it, on chunking, or on the number of threads.

The draws (uniform, normal, gamma, Poisson, binomial, negative binomial) use standard
algorithms: Box-Muller, Marsaglia-Tsang (2000) for the gamma, inversion for Poisson means
below 30 and Hormann's PTRS (1993) above, inversion by Bernoulli trials for the binomial.

References
----------
Blackman D, Vigna S. Scrambled linear pseudorandom number generators. ACM TOMS
2021;47(4):36. doi:10.1145/3460772
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

__all__ = [
    "N_STREAMS",
    "STREAM_COURSE",
    "STREAM_OBSERVATION",
    "STREAM_POPULATION",
    "STREAM_TRANSPLANT",
    "seed_prefix",
]

STREAM_POPULATION, STREAM_COURSE, STREAM_OBSERVATION, STREAM_TRANSPLANT = 0, 1, 2, 3
N_STREAMS = 4
STREAM_LABS = 4  # drawn after the kernel, from the laboratory results' own stream
STREAM_MISSED_EDSS = 5  # drawn after the kernel: which scheduled EDSS visits do not happen
STREAM_MISSED_MRI = 6  # and which scans

_MASK32 = 0xFFFFFFFF
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_L = 0xCA01F9DD
_MIX_R = 0x4973F715

U_MASK32 = np.uint64(_MASK32)
U_MULT_A = np.uint64(_MULT_A)
U_INIT_B = np.uint64(_INIT_B)
U_MULT_B = np.uint64(_MULT_B)
U_MIX_L = np.uint64(_MIX_L)
U_MIX_R = np.uint64(_MIX_R)
U16 = np.uint64(16)
U32 = np.uint64(32)


# -- SeedSequence prefix (pure Python, once per simulation) ------------------------------


def _words(value: int) -> list[int]:
    if value < 0:
        raise ValueError(f"seed must be a non-negative integer; got {value}")
    if value == 0:
        return [0]
    out = []
    while value > 0:
        out.append(value & _MASK32)
        value >>= 32
    return out


def _coerce(entropy: object) -> list[int]:
    if entropy is None:
        return []
    if isinstance(entropy, int | np.integer):
        return _words(int(entropy))
    if isinstance(entropy, Sequence | np.ndarray):
        return [w for v in entropy for w in _coerce(v)]
    raise TypeError(f"seed entropy must be an integer or a sequence of integers; got {entropy!r}")


def _hashmix(value: int, hc: list[int]) -> int:
    value ^= hc[0]
    hc[0] = (hc[0] * _MULT_A) & _MASK32
    value = (value * hc[0]) & _MASK32
    return value ^ (value >> 16)


def _mix(x: int, y: int) -> int:
    r = (_MIX_L * x - _MIX_R * y) & _MASK32
    return r ^ (r >> 16)


def seed_prefix(root: np.random.SeedSequence) -> tuple[np.ndarray, int]:
    """The SeedSequence pool and hash constant after the root's entropy and spawn key.

    The per-patient words (patient index, stream) are mixed in afterwards by compiled
    code (:func:`seed_stream`); the result equals numpy's
    ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (patient, stream))``.
    """
    if root.pool_size != 4:
        raise ValueError(f"seed pool_size must be 4 (numpy's default); got {root.pool_size}")
    run = _coerce(root.entropy)
    if len(run) < 4:  # numpy pads the run entropy when there is a spawn key (always here)
        run = run + [0] * (4 - len(run))
    entropy = run + _coerce(tuple(root.spawn_key))
    hc = [_INIT_A]
    pool = [_hashmix(entropy[i], hc) for i in range(4)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = _mix(pool[dst], _hashmix(pool[src], hc))
    for word in entropy[4:]:
        for dst in range(4):
            pool[dst] = _mix(pool[dst], _hashmix(word, hc))
    return np.array(pool, dtype=np.uint64), hc[0]


# -- compiled: stream seeding and xoshiro256** ------------------------------------------


@njit(cache=True, inline="always")
def _hashmix_u(value: np.uint64, hc: np.uint64) -> tuple[np.uint64, np.uint64]:
    value = (value ^ hc) & U_MASK32
    hc = (hc * U_MULT_A) & U_MASK32
    value = (value * hc) & U_MASK32
    value = value ^ (value >> U16)
    return value, hc


@njit(cache=True, inline="always")
def _mix_u(x: np.uint64, y: np.uint64) -> np.uint64:
    r = (U_MIX_L * x - U_MIX_R * y) & U_MASK32
    return r ^ (r >> U16)


@njit(cache=True)
def seed_stream(
    pool0: np.ndarray, hc0: np.uint64, patient: int, stream: int, out: np.ndarray
) -> None:
    """Write the xoshiro256** state of one (patient, stream) into ``out`` (4 uint64)."""
    pool = pool0.copy()
    hc = np.uint64(hc0)
    for k in range(2):
        word = np.uint64(patient) & U_MASK32 if k == 0 else np.uint64(stream) & U_MASK32
        for d in range(4):
            h, hc = _hashmix_u(word, hc)
            pool[d] = _mix_u(pool[d], h)
    hb = U_INIT_B
    for i in range(4):
        lo = pool[(2 * i) % 4] ^ hb
        hb = (hb * U_MULT_B) & U_MASK32
        lo = (lo * hb) & U_MASK32
        lo = lo ^ (lo >> U16)
        hi = pool[(2 * i + 1) % 4] ^ hb
        hb = (hb * U_MULT_B) & U_MASK32
        hi = (hi * hb) & U_MASK32
        hi = hi ^ (hi >> U16)
        out[i] = lo | (hi << U32)


@njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    return (x << k) | (x >> (np.uint64(64) - k))


@njit(cache=True, inline="always")
def next_u64(s: np.ndarray) -> np.uint64:
    """Next 64-bit output of xoshiro256** (state ``s``, 4 uint64, updated in place)."""
    result = _rotl(s[1] * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@njit(cache=True, inline="always")
def uniform(s: np.ndarray) -> float:
    """Uniform on the open interval (0, 1)."""
    return (float(next_u64(s) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def normal(s: np.ndarray) -> float:
    """Standard normal (Box-Muller, one of the pair)."""
    u1 = uniform(s)
    u2 = uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True)
def gamma(s: np.ndarray, shape: float) -> float:
    """Gamma with unit scale (Marsaglia-Tsang; shape < 1 by the power boost)."""
    if shape <= 0.0:
        return 0.0
    boost = 1.0
    if shape < 1.0:
        boost = uniform(s) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(s)
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v * boost
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


@njit(cache=True)
def poisson(s: np.ndarray, lam: float) -> int:
    """Poisson with mean ``lam`` (inversion below 30, PTRS above)."""
    if lam <= 0.0:
        return 0
    if lam < 30.0:
        u = uniform(s)
        k = 0
        p = math.exp(-lam)
        cum = p
        while u > cum and k < 1000:
            k += 1
            p *= lam / k
            cum += p
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(s) - 0.5
        v = uniform(s)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return int(k)


@njit(cache=True)
def binomial(s: np.ndarray, n: int, p: float) -> int:
    """Binomial by Bernoulli trials (``n`` is small here: lesions, grid steps)."""
    if p <= 0.0 or n <= 0:
        return 0
    if p >= 1.0:
        return n
    k = 0
    for _ in range(n):
        if uniform(s) < p:
            k += 1
    return k


@njit(cache=True)
def negative_binomial(s: np.ndarray, mean: float, overdispersion: float) -> int:
    """Count with mean ``mean`` and variance ``mean * (1 + overdispersion * mean)``."""
    if mean <= 0.0:
        return 0
    if overdispersion <= 0.0:
        return poisson(s, mean)
    shape = 1.0 / overdispersion
    return poisson(s, mean * gamma(s, shape) / shape)


@njit(cache=True)
def truncated_normal(s: np.ndarray, mean: float, sd: float, low: float, high: float) -> float:
    """Normal restricted to [low, high] by rejection (the spec checks the acceptance rate)."""
    if sd <= 0.0:
        return min(max(mean, low), high)
    for _ in range(100000):
        x = mean + sd * normal(s)
        if low <= x <= high:
            return x
    return min(max(mean, low), high)


@njit(cache=True)
def stream_uniforms(
    pool: np.ndarray, hc: np.uint64, patients: np.ndarray, counts: np.ndarray, stream: int
) -> np.ndarray:
    """``counts[i]`` uniforms for patient ``patients[i]`` from that patient's own
    ``stream``, concatenated in order (independent of chunking and of the kernel)."""
    out = np.empty(int(counts.sum()))
    st = np.empty(4, dtype=np.uint64)
    at = 0
    for i in range(patients.shape[0]):
        seed_stream(pool, hc, int(patients[i]), stream, st)
        for _ in range(counts[i]):
            out[at] = uniform(st)
            at += 1
    return out


@njit(cache=True)
def lab_normals(pool: np.ndarray, hc: np.uint64, first: int, n: int, k: int) -> np.ndarray:
    """``k`` standard normals for each of patients ``first .. first + n - 1``, from each
    patient's own labs stream (independent of chunking, thread count and the kernel)."""
    out = np.empty((n, k))
    st = np.empty(4, dtype=np.uint64)
    for i in range(n):
        seed_stream(pool, hc, first + i, STREAM_LABS, st)
        for j in range(k):
            out[i, j] = normal(st)
    return out
