"""Numerical helpers of the predictive forecast: agent supply and tail probabilities.

Pure functions of numpy arrays; no state.
"""

from __future__ import annotations

import numpy as np

from dialer.pacing.stats import HazardModel

_SQRT2 = np.sqrt(2.0)
_INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7)."""
    return _cdf_pdf(x)[0]


def _cdf_pdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e = np.exp(-0.5 * x * x)  # shared by the pdf and the erf approximation
    t = 1.0 / (1.0 + (0.3275911 / _SQRT2) * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    half_tail = 0.5 * poly * e  # P(Z > |x|)
    cdf = np.where(x >= 0, 1.0 - half_tail, half_tail)
    return cdf, e * _INV_SQRT2PI


def prob_nonnegative(mu: np.ndarray, var: np.ndarray, m3: np.ndarray) -> np.ndarray:
    """P(X >= 0) for an integer-valued sum of independent Bernoulli terms (signed).

    ``mu``, ``var``, ``m3``: its mean, variance and third central moment. Uses the refined
    normal approximation (normal plus a skewness term, with continuity correction), which is
    accurate for Poisson-binomial sums far beyond the plain normal one.
    """
    var = np.maximum(var, 1e-12)
    sd = np.sqrt(var)
    x = (-0.5 - mu) / sd
    cdf, pdf = _cdf_pdf(x)
    below = cdf + (m3 / (6.0 * var * sd)) * (1.0 - x * x) * pdf
    p = 1.0 - np.clip(below, 0.0, 1.0)
    # deterministic (zero-variance) cases: exact
    return np.where(var < 1e-9, (mu >= -0.5).astype(float), p)


def ready_by(
    talk: HazardModel,
    wrap: HazardModel,
    talk_elapsed: np.ndarray,
    wrap_elapsed: np.ndarray,
    tau: np.ndarray,
    *,
    stay: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """P(agent ready again by each time in ``tau``) for talking and wrapping-up agents.

    Talking agents (elapsed talk ``talk_elapsed``) must finish the call and a fresh wrap-up;
    wrapping-up agents (elapsed ``wrap_elapsed``) only the rest of theirs. Talk survival is
    estimated with the running calls as censored observations. ``stay`` is the probability an
    agent goes ready (not pause) after the wrap-up. Returns two arrays (agents x len(tau)).
    """
    wrap_cum = wrap.cumulative()
    if talk_elapsed.size:
        m = wrap.lag_cdf(tau)  # m[k, j] = P(fresh wrap-up <= tau_j - (k + 0.5))
        steps = np.arange(m.shape[0] + 1, dtype=float)
        cum = talk.cumulative(talk_elapsed)
        lam = np.interp(talk_elapsed[:, None] + steps[None, :], talk.edges, cum)
        surv = np.exp(lam[:, :1] - lam)
        ends = surv[:, :-1] - surv[:, 1:]  # P(talk ends in step k), k = 0..K-1
        f_talk = (ends @ m) * stay
    else:
        f_talk = np.zeros((0, tau.size))
    if wrap_elapsed.size:
        cw = np.interp(wrap_elapsed, wrap.edges, wrap_cum)
        later = np.interp(wrap_elapsed[:, None] + tau[None, :], wrap.edges, wrap_cum)
        f_wrap = (1.0 - np.exp(-(later - cw[:, None]))) * stay
    else:
        f_wrap = np.zeros((0, tau.size))
    return f_talk, f_wrap
