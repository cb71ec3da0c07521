"""Kernels of the streaming spike detector (:mod:`ione.culture.detect`): Butterworth design,
the numba block kernel and the neighbour lists of local exclusion.

Nothing here keeps state of its own: :class:`ione.culture.detect.StreamingDetector` owns every
array and passes it in, so one call of :func:`detect_block` advances the whole detector by one
block (all channels, all samples) and can stop early and be called again with the rest (the
results are the same: the rules below only depend on sample indices).

Integer parameters and counters travel in one ``int64`` array ``ip`` whose slots are the
``IP_*`` constants; the kernel updates ``IP_N_TOTAL``, ``IP_N_CAND`` and ``IP_N_FIN``.
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "IP_APPLY_AT",
    "IP_CHUNK_N",
    "IP_DEAD",
    "IP_DET_START",
    "IP_EXCL",
    "IP_M",
    "IP_N_CAND",
    "IP_N_FIN",
    "IP_N_TOTAL",
    "IP_SIGN",
    "IP_SIZE",
    "IP_STORE_FROM",
    "IP_STORE_UNTIL",
    "IP_STRIDE",
    "IP_W",
    "MAD_TO_SIGMA",
    "PEAK_DTYPE",
    "butterworth_bandpass_sos",
    "detect_block",
    "first_non_finite",
    "neighbour_lists",
    "sos_steady_state",
]

PEAK_DTYPE: Final = np.dtype([("sample_index", "<i8"), ("channel", "<i4"), ("amplitude", "<f4")])
"""One detected peak: absolute sample index since the stream started, channel (column of the
blocks), and the filtered value at the peak (input units)."""

MAD_TO_SIGMA: Final = 0.6744897501960817
"""Φ⁻¹(3/4): the MAD of a Gaussian is this many standard deviations (≈ 0.6745)."""

IP_N_TOTAL: Final = 0  # samples consumed since the stream started
IP_W: Final = 1  # exclude-sweep half-width, samples (>= 1)
IP_SIGN: Final = 2  # -1 negative peaks, +1 positive, 0 both
IP_DET_START: Final = 3  # first sample index that may be a peak
IP_DEAD: Final = 4  # dead time, samples
IP_CHUNK_N: Final = 5  # noise chunk length, samples
IP_STRIDE: Final = 6  # a noise value every STRIDE samples of a chunk
IP_M: Final = 7  # noise values per chunk
IP_STORE_FROM: Final = 8  # samples [STORE_FROM, STORE_UNTIL) give noise values
IP_STORE_UNTIL: Final = 9
IP_APPLY_AT: Final = 10  # pending noise is in effect from this sample on (-1: none)
IP_EXCL: Final = 11  # exclusion window, samples (-1: no local exclusion)
IP_N_CAND: Final = 12  # candidates held for local exclusion
IP_N_FIN: Final = 13  # of which the first N_FIN are decided
IP_SIZE: Final = 14

_EXP_MASK: Final = np.uint32(0x7F800000)
_SHRINK: Final = 1.0 - 2.0**-20  # float32 pre-check threshold stays below the float64 one
_GROUP: Final = 64  # channels pre-checked together
_SUBGROUP: Final = 16  # then in quarters


# ---------------------------------------------------------------------------- filter design
def butterworth_bandpass_sos(
    order: int, low_hz: float, high_hz: float, fs_hz: float
) -> npt.NDArray[np.float64]:
    """Second-order sections ``[b0, b1, b2, 1, a1, a2]`` of a digital Butterworth band-pass.

    The same design as ``scipy.signal.butter(order, [low_hz, high_hz], "bandpass", fs=fs_hz,
    output="sos")`` (analog prototype, low-pass to band-pass transform, bilinear transform with
    pre-warped edges), written out in numpy so that the detector needs no SciPy. The ``order``
    conjugate pole pairs become ``order`` sections, sorted by pole frequency; the low sections
    take the zeros at z = +1 (high-pass), the high ones the zeros at z = -1 (low-pass), so a DC
    offset of the input stops at the first section. The overall gain sits in the first section.
    """
    n = int(order)
    # analog Butterworth prototype (scipy.signal.buttap) and pre-warped edges on fs = 2
    proto = -np.exp(1j * np.pi * np.arange(-n + 1, n, 2) / (2 * n))
    fs = 2.0
    warped = 2 * fs * np.tan(np.pi * np.array([low_hz, high_hz]) / fs_hz)
    bw = warped[1] - warped[0]
    wo = math.sqrt(warped[0] * warped[1])
    # low-pass to band-pass: every prototype pole gives two, n zeros at s = 0
    p_lp = proto * bw / 2
    root = np.sqrt(p_lp**2 - wo**2 + 0j)
    p_bp = np.concatenate([p_lp + root, p_lp - root])
    k = bw**n
    # bilinear transform: s = 0 -> z = +1, s = inf -> z = -1
    fs2 = 2 * fs
    p_z = (fs2 + p_bp) / (fs2 - p_bp)
    k_z = float(np.real(k * fs2**n / np.prod(fs2 - p_bp)))
    pairs = _pole_pairs(p_z)
    zeros = [1.0] * n + [-1.0] * n  # low sections high-pass, high sections low-pass
    sos = np.zeros((n, 6))
    for i, (p1, p2) in enumerate(pairs):
        sos[i, :3] = np.real(np.poly(zeros[2 * i : 2 * i + 2]))
        sos[i, 3:] = np.real(np.poly([p1, p2]))
    sos[0, :3] *= k_z
    return sos


def _pole_pairs(p: npt.NDArray[np.complex128]) -> list[tuple[complex, complex]]:
    """Group digital poles into conjugate (or real) pairs, sorted by frequency (|angle|)."""
    tol = 1e-12
    cplx = sorted((q for q in p if q.imag > tol), key=lambda q: abs(np.angle(q)))
    real = sorted((q.real for q in p if abs(q.imag) <= tol), reverse=True)
    pairs: list[tuple[complex, complex]] = [(q, q.conjugate()) for q in cplx]
    pairs += [(complex(real[i]), complex(real[i + 1])) for i in range(0, len(real) - 1, 2)]
    return sorted(pairs, key=lambda pq: max(abs(np.angle(pq[0])), abs(np.angle(pq[1]))))


def sos_steady_state(sos: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-section states ``(n_sections, 2)`` of the transposed direct form II at rest under a
    unit constant input (what ``scipy.signal.sosfilt_zi`` returns); multiply by a channel's first
    sample to start that channel without a step transient."""
    out = np.zeros((sos.shape[0], 2))
    scale = 1.0
    for i, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        g = (b0 + b1 + b2) / (1.0 + a1 + a2)
        out[i, 0] = scale * (b1 + b2 - (a1 + a2) * g)
        out[i, 1] = scale * (b2 - a2 * g)
        scale *= g
    return out


# ---------------------------------------------------------------------------- neighbours
def neighbour_lists(
    positions_um: npt.NDArray[np.float64], radius_um: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Channels within ``radius_um`` of each channel (itself included), as CSR arrays
    ``(indptr, indices)`` with each row sorted."""
    pos = np.asarray(positions_um, dtype=np.float64)
    n = pos.shape[0]
    r2 = float(radius_um) ** 2
    rows: list[npt.NDArray[np.int32]] = []
    step = max(1, 2**22 // max(n, 1))
    for a in range(0, n, step):
        d2 = ((pos[a : a + step, None, :] - pos[None, :, :]) ** 2).sum(axis=2)
        for row in d2:
            rows.append(np.flatnonzero(row <= r2).astype(np.int32))
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([r.size for r in rows])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    return indptr, indices


# ---------------------------------------------------------------------------- block kernel
@numba.njit(cache=True, nogil=True, inline="always")
def _is_neighbour(indptr: np.ndarray, indices: np.ndarray, a: int, b: int) -> bool:
    lo = indptr[a]
    hi = indptr[a + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        v = indices[mid]
        if v == b:
            return True
        if v < b:
            lo = mid + 1
        else:
            hi = mid
    return False


@numba.njit(cache=True, nogil=True)
def first_non_finite(x: np.ndarray) -> int:
    """Flat index of the first NaN or infinity of a float32 block, or -1."""
    bits = x.reshape(-1).view(np.uint32)
    top = np.uint32(0)
    for i in range(bits.size):
        top = max(top, bits[i] & _EXP_MASK)
    if top != _EXP_MASK:
        return -1
    for i in range(bits.size):
        if bits[i] & _EXP_MASK == _EXP_MASK:
            return i
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def _hits(row: np.ndarray, lim: np.ndarray, sign: int, sgp: np.float32) -> int:
    """How many of ``row`` (a slice) are beyond their float32 pre-check threshold, on the side
    of ``sign`` (both for 0). Loops over slices vectorise; over range(c0, c1) of a row not."""
    hits = 0
    if sign == 0:
        for c in range(row.shape[0]):
            hits += int(abs(row[c]) > lim[c])
    else:
        for c in range(row.shape[0]):
            hits += int(sgp * row[c] > lim[c])
    return hits


@numba.njit(cache=True, nogil=True)
def _detect_center(
    t: int,
    fut: int,
    ring: np.ndarray,
    thr: np.ndarray,
    thr32: np.ndarray,
    last: np.ndarray,
    ip: np.ndarray,
    out: np.ndarray,
    k: int,
    cand_t: np.ndarray,
    cand_c: np.ndarray,
    cand_a: np.ndarray,
    cand_s: np.ndarray,
) -> int:
    """Decide, on every channel, whether sample ``t`` is a peak (SpikeInterface's
    ``by_channel`` rule: beyond the threshold, strictly beyond each of the ``past`` samples
    before it and at least as far as each of the ``fut`` after it), apply the dead time and
    append the peak to ``out`` (or to the exclusion candidates). Returns the new length of
    ``out``.

    Written as one loop nest on purpose: a call to another numba function per channel group
    costs more (array arguments) than the work it does.
    """
    r = ring.shape[0]
    n_ch = ring.shape[1]
    w = ip[IP_W]
    sign = ip[IP_SIGN]
    dead = ip[IP_DEAD]
    excl = ip[IP_EXCL]
    trow = t % r
    tr = ring[trow]
    past = min(w, t)
    reach = max(past, fut)
    sgp = np.float32(1.0 if sign > 0 else -1.0)  # pre-check on the wanted side only
    for c0 in range(0, n_ch, _GROUP):
        c1 = min(n_ch, c0 + _GROUP)
        # vectorised pre-check of a group, then of its quarters
        if _hits(tr[c0:c1], thr32[c0:c1], sign, sgp) == 0:
            continue
        for s0 in range(c0, c1, _SUBGROUP):
            s1 = min(c1, s0 + _SUBGROUP)
            if _hits(tr[s0:s1], thr32[s0:s1], sign, sgp) == 0:
                continue
            for c in range(s0, s1):
                v = tr[c]
                if (abs(v) if sign == 0 else sgp * v) <= thr32[c]:
                    continue
                vd = np.float64(v)
                if vd < -thr[c]:
                    if sign > 0:
                        continue
                    sg = np.float32(-1.0)
                elif vd > thr[c]:
                    if sign < 0:
                        continue
                    sg = np.float32(1.0)
                else:
                    continue
                sv = sg * v  # exact: compare as a positive peak
                ok = True
                for i in range(1, reach + 1):
                    if i <= past:
                        rp = trow - i
                        if rp < 0:
                            rp += r
                        if not sv > sg * ring[rp, c]:
                            ok = False
                            break
                    if i <= fut:
                        rf = trow + i
                        if rf >= r:
                            rf -= r
                        if not sv >= sg * ring[rf, c]:
                            ok = False
                            break
                if not ok or t - last[c] <= dead:
                    continue
                last[c] = t
                if excl >= 0:
                    j = ip[IP_N_CAND]
                    cand_t[j] = t
                    cand_c[j] = c
                    cand_a[j] = v
                    cand_s[j] = abs(vd) / thr[c]
                    ip[IP_N_CAND] = j + 1
                else:
                    out[k].sample_index = t
                    out[k].channel = c
                    out[k].amplitude = v
                    k += 1
    return k


@numba.njit(cache=True, nogil=True)
def _finalise(
    t_conf: int,
    ip: np.ndarray,
    out: np.ndarray,
    k: int,
    cand_t: np.ndarray,
    cand_c: np.ndarray,
    cand_a: np.ndarray,
    cand_s: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
) -> int:
    """Local exclusion: decide every candidate whose whole window ``±E`` is known (all peaks up
    to ``t_conf`` are), keep it unless a neighbour's candidate within ``E`` samples scores
    higher (ties: earlier sample, then lower channel), then drop candidates no longer needed."""
    e = ip[IP_EXCL]
    n = ip[IP_N_CAND]
    i = ip[IP_N_FIN]
    while i < n and cand_t[i] + e <= t_conf:
        ti = cand_t[i]
        ci = cand_c[i]
        si = cand_s[i]
        keep = True
        j = i - 1
        while keep and j >= 0 and cand_t[j] >= ti - e:
            better = cand_s[j] > si or (
                cand_s[j] == si and (cand_t[j] < ti or (cand_t[j] == ti and cand_c[j] < ci))
            )
            if better and _is_neighbour(indptr, indices, ci, cand_c[j]):
                keep = False
            j -= 1
        j = i + 1
        while keep and j < n and cand_t[j] <= ti + e:
            better = cand_s[j] > si or (cand_s[j] == si and cand_t[j] == ti and cand_c[j] < ci)
            if better and _is_neighbour(indptr, indices, ci, cand_c[j]):
                keep = False
            j += 1
        if keep:
            out[k].sample_index = ti
            out[k].channel = ci
            out[k].amplitude = cand_a[i]
            k += 1
        i += 1
    # candidates before ``horizon`` can no longer be inside the window of an undecided one
    horizon = cand_t[i] - e if i < n else t_conf - 2 * e + 1
    lo = 0
    while lo < i and cand_t[lo] < horizon:
        lo += 1
    if lo > 0:
        for j in range(lo, n):
            cand_t[j - lo] = cand_t[j]
            cand_c[j - lo] = cand_c[j]
            cand_a[j - lo] = cand_a[j]
            cand_s[j - lo] = cand_s[j]
    ip[IP_N_CAND] = n - lo
    ip[IP_N_FIN] = i - lo
    return k


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def detect_block(
    x: np.ndarray,
    coef: np.ndarray,
    z: np.ndarray,
    ring: np.ndarray,
    thr: np.ndarray,
    thr32: np.ndarray,
    last: np.ndarray,
    noise: np.ndarray,
    pending: np.ndarray,
    multiple: float,
    store: np.ndarray,
    ip: np.ndarray,
    out: np.ndarray,
    cand_t: np.ndarray,
    cand_c: np.ndarray,
    cand_a: np.ndarray,
    cand_s: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    filtered: np.ndarray,
    flush: bool,
) -> tuple[int, int]:
    """Advance the detector by the block ``x`` (samples × channels, float32 or int16).

    Per sample n (absolute index ``ip[IP_N_TOTAL]`` + row): filter every channel through the
    biquads (transposed direct form II, float32, state ``z`` of shape (2·sections, channels))
    into ``ring[n % R]`` (and ``filtered``, when it has rows); keep every STRIDE-th value of the
    noise window in ``store``; decide whether sample ``t = n - w`` is a peak on each channel
    (:func:`_detect_center`); switch to the pending noise when sample n is the last before
    ``IP_APPLY_AT``. With local exclusion the candidates are decided by :func:`_finalise`.

    Stops early, before a sample that could overflow ``out`` or the candidate arrays.
    ``flush`` (with an empty block) decides the last ``w`` samples with the window cut at the
    end of the stream and every waiting candidate.

    Returns ``(peaks written to out, rows of x consumed)``. A float block must have been checked
    with :func:`first_non_finite` first.
    """
    ns = x.shape[0]
    n_ch = x.shape[1]
    r = ring.shape[0]
    nsec = coef.shape[0]
    w = ip[IP_W]
    excl = ip[IP_EXCL]
    cap_out = out.shape[0]
    cap_cand = cand_t.shape[0]
    keep_rows = filtered.shape[0] > 0
    k = 0
    s = 0
    while s < ns:
        if k + n_ch > cap_out or (excl >= 0 and ip[IP_N_CAND] + n_ch > cap_cand):
            break
        n = ip[IP_N_TOTAL]
        row = ring[n % r]
        xs = x[s]
        for c in range(n_ch):
            row[c] = np.float32(xs[c])
        for q in range(nsec):
            b0 = coef[q, 0]
            b1 = coef[q, 1]
            b2 = coef[q, 2]
            a1 = coef[q, 3]
            a2 = coef[q, 4]
            # slices, not z[2 * q]: with row views numba's loop does not vectorise (4x slower)
            z1 = z[2 * q, 0:n_ch]
            z2 = z[2 * q + 1, 0:n_ch]
            for c in range(n_ch):
                xi = row[c]
                y = b0 * xi + z1[c]
                z1[c] = b1 * xi - a1 * y + z2[c]
                z2[c] = b2 * xi - a2 * y
                row[c] = y
        if keep_rows:
            fr = filtered[s]
            for c in range(n_ch):
                fr[c] = row[c]
        if ip[IP_STORE_FROM] <= n < ip[IP_STORE_UNTIL]:
            off = n % ip[IP_CHUNK_N]
            if off % ip[IP_STRIDE] == 0 and off // ip[IP_STRIDE] < ip[IP_M]:
                dst = store[(n // ip[IP_CHUNK_N]) % 2, off // ip[IP_STRIDE], 0:n_ch]
                for c in range(n_ch):
                    dst[c] = row[c]
        t = n - w
        if t >= ip[IP_DET_START]:
            k = _detect_center(
                t, w, ring, thr, thr32, last, ip, out, k, cand_t, cand_c, cand_a, cand_s
            )
        if n + 1 == ip[IP_APPLY_AT]:
            for c in range(n_ch):
                noise[c] = pending[c]
                thr[c] = pending[c] * multiple
                thr32[c] = np.float32(thr[c] * _SHRINK)
            ip[IP_APPLY_AT] = -1
        ip[IP_N_TOTAL] = n + 1
        s += 1
    n_total = ip[IP_N_TOTAL]
    if flush:
        for t in range(max(n_total - w, ip[IP_DET_START], 0), n_total):
            k = _detect_center(
                t, n_total - 1 - t, ring, thr, thr32, last, ip, out, k,
                cand_t, cand_c, cand_a, cand_s,
            )  # fmt: skip
    if excl >= 0:
        t_conf = n_total + 2 * excl + 1 if flush else n_total - 1 - w
        k = _finalise(t_conf, ip, out, k, cand_t, cand_c, cand_a, cand_s, indptr, indices)
    return k, s
