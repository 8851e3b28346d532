"""Forecasts of an epoch's demand and signals, so decisions can be studied under uncertainty.

Workload forecasters predict the next epoch's arrival rate ``[origin, model]`` from the rates
of past epochs (``history[epoch, origin, model]``, requests/s):

* ``oracle``: the true rate (what the plan will face);
* ``last``: persistence, the last epoch's rate (no predictor at all; zero before any epoch
  is known). The ablation "SLIT without its workload predictor" uses it;
* ``seasonal``: the rate one season ago (``period`` epochs, a day by default), or the last
  epoch's while less than a season is known;
* ``slit``: SLIT's predictor, a set of linear regressions on the recent history refit every
  epoch, the one that fits best chosen: for each window ``w`` (default 4, 8, 16 epochs) a
  least-squares line through the last ``w`` rates of every series; each line's error is its
  mean squared one-step-ahead error on the last ``w`` points it had to predict, and the
  series takes the window with the smallest error. Predictions are clipped at zero.

Signals (carbon, water and price per kWh) can be perturbed with multiplicative log-normal noise
of a given relative standard deviation to study robustness to forecast error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from slit.plugins import FORECASTERS

FloatArray = npt.NDArray[np.float64]
Forecaster = Callable[[FloatArray, FloatArray], FloatArray]
"""``forecaster(history[epochs, origin, model], truth[origin, model]) -> prediction``."""

def register_forecaster(
    name: str, *, replace: bool = False
) -> Callable[[Callable[..., Forecaster]], Callable[..., Forecaster]]:
    """Decorator adding a forecaster factory (keyword parameters) to
    :data:`slit.plugins.FORECASTERS` under ``name`` (a name already taken is an error unless
    ``replace=True``)."""
    return FORECASTERS.register(name, replace=replace)


def forecaster_names() -> list[str]:
    """Registered forecaster names."""
    return FORECASTERS.names()


def make_forecaster(name: str, **params: float) -> Forecaster:
    """A forecaster by name (:class:`~slit.errors.RegistryError` listing the valid names)."""
    return FORECASTERS.get(name)(**params)


@register_forecaster("oracle")
def oracle() -> Forecaster:
    """The true rate."""
    return lambda history, truth: np.asarray(truth, float)


@register_forecaster("last")
def last() -> Forecaster:
    """The last epoch's rate (persistence); zero before the first epoch is known."""

    def predict(history: FloatArray, truth: FloatArray) -> FloatArray:
        h = np.asarray(history, float)
        return h[-1] if len(h) else np.zeros_like(np.asarray(truth, float))

    return predict


@register_forecaster("seasonal")
def seasonal(period: int = 96) -> Forecaster:
    """The rate ``period`` epochs ago (the last epoch's before a full season is known)."""

    def predict(history: FloatArray, truth: FloatArray) -> FloatArray:
        h = np.asarray(history, float)
        if len(h) == 0:
            return np.zeros_like(np.asarray(truth, float))
        return h[-period] if len(h) >= period else h[-1]

    return predict


def _line_forecast(y: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Next value of every series from a line through its last ``window`` points, and the
    mean squared one-step-ahead error of that rule over the ``window`` points before.

    ``y`` is ``[time, series]``. Lines are fitted in closed form (least squares on 0..w-1).
    """
    t_len = len(y)

    def line_next(seg: FloatArray) -> FloatArray:
        w = len(seg)
        if w == 1:
            return seg[-1]
        x = np.arange(w, dtype=float)
        xm, ym = x.mean(), seg.mean(axis=0)
        slope = ((x - xm)[:, None] * (seg - ym)).sum(axis=0) / ((x - xm) ** 2).sum()
        return ym + slope * (w - xm)

    nxt = line_next(y[max(0, t_len - window) :])
    errs = []
    for k in range(1, min(window, t_len - 1) + 1):
        past = y[max(0, t_len - k - window) : t_len - k]
        errs.append((line_next(past) - y[t_len - k]) ** 2)
    err = np.mean(errs, axis=0) if errs else np.full(y.shape[1], np.inf)
    return nxt, err


@register_forecaster("slit")
def slit_regression(windows: tuple[int, ...] = (4, 8, 16)) -> Forecaster:
    """SLIT's predictor: the best-fitting of several recent-history linear regressions."""

    def predict(history: FloatArray, truth: FloatArray) -> FloatArray:
        h = np.asarray(history, float)
        shape = np.asarray(truth).shape
        if len(h) == 0:
            return np.zeros(shape)
        y = h.reshape(len(h), -1)
        if len(h) < 3:
            return np.clip(y[-1], 0.0, None).reshape(shape)
        preds, errs = zip(*(_line_forecast(y, w) for w in windows), strict=True)
        best = np.argmin(np.stack(errs), axis=0)
        out = np.stack(preds)[best, np.arange(y.shape[1])]
        return np.clip(out, 0.0, None).reshape(shape)

    return predict


def perturb(values: FloatArray, relative_sd: float, rng: np.random.Generator) -> FloatArray:
    """``values`` times log-normal noise with mean 1 and relative standard deviation
    ``relative_sd`` (0 returns them unchanged)."""
    v = np.asarray(values, float)
    if relative_sd <= 0:
        return v.copy()
    sigma = np.sqrt(np.log1p(relative_sd**2))
    return v * rng.lognormal(-(sigma**2) / 2.0, sigma, size=v.shape)
