"""Calibration: loaders of the public measurements, the joint fit, held-out error.

Tests that read ``../shared/data`` skip with a reason where it is absent; the fit itself is also
tested on synthetic observations made by the model from known parameters (no data needed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from slit.calibration.argonne import load_argonne_power, load_argonne_runs, load_argonne_ttft
from slit.calibration.joint import (
    SOFTWARE_PARAMS,
    START,
    closed_batch_s,
    cross_validate,
    fit_all,
    fit_gpu,
    predict,
    summarize,
)
from slit.calibration.mlenergy import load_mlenergy
from slit.calibration.pipeline import acceptance_table, headline_table, load_observations
from slit.calibration.vidur import load_vidur_prefill
from slit.catalogue.gpus import bundled_gpus
from slit.catalogue.llms import bundled_llms
from slit.models.latency import EfficiencyParams, ReplicaPerf, calibrated_efficiency
from slit.models.power import PowerParams, calibrated_power
from tests.conftest import REPO, require_shared_data


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return load_observations(require_shared_data())


@pytest.fixture(scope="module")
def fits(obs: pd.DataFrame):
    return fit_all(obs)


@pytest.fixture(scope="module")
def held_out_tp(obs: pd.DataFrame, fits) -> pd.DataFrame:
    return cross_validate(obs, "tp", fits["h100"])


# -- the fit on synthetic data (no data needed) -------------------------------------------------
def _synthetic(eff: EfficiencyParams, power: PowerParams) -> pd.DataFrame:
    """Closed-batch runs, kernel-time prefills and power of a 7B and a 70B model at tp 1-4,
    computed by the model itself from known parameters."""
    rows = []
    for model, tps in (("llama-2-7b", (1, 2, 4)), ("llama-3.1-70b", (4,))):
        for tp in tps:
            for b in (1, 16, 64):
                for n in (128, 1024):
                    rows.append(("argonne", model, tp, "batch_latency", b, n, n))
            rows.append(("argonne", model, tp, "power", 16, 512, 512))
            for n in (256, 2048):
                rows.append(("vidur", model, tp, "prefill_dense", 1, n, 0))
    frame = pd.DataFrame(rows, columns=["source", "model", "tp", "metric", "batch", "tokens",
                                        "output_tokens"])  # fmt: skip
    frame["gpu"] = "h100-80gb"
    frame["context_tokens"] = 0.0
    frame["max_model_len"] = 0
    frame["measured"] = 1.0
    soft = {"argonne": {"overhead_s": eff.overhead_s, "per_request_overhead_s":
                        eff.per_request_overhead_s, "layer_overhead_s": eff.layer_overhead_s},
            "vidur": {"layer_overhead_s": 2e-5}}  # fmt: skip
    frame["measured"] = predict(frame, eff, power, None, soft)
    return frame


def test_fit_recovers_the_parameters_that_made_the_data() -> None:
    truth = EfficiencyParams(mfu=0.55, mbu=0.8, overhead_s=0.004, decode_mfu=0.35,
                             per_request_overhead_s=5e-5, layer_overhead_s=3e-5,
                             tp_layer_overhead_s=4e-6, attention_mbu=0.6)  # fmt: skip
    power = PowerParams(0.2, 0.7, 0.5, 0.4)
    data = _synthetic(truth, power)
    fit = fit_gpu(data, "h100")
    pred = fit.predict(data)
    lat = (data["metric"] != "power").to_numpy()
    np.testing.assert_allclose(pred[lat], data["measured"][lat], rtol=1e-3)
    # four power coefficients from six power points: the fit reproduces them, not uniquely
    np.testing.assert_allclose(pred[~lat], data["measured"][~lat], rtol=1e-2)
    for name in ("mfu", "mbu", "attention_mbu"):
        assert getattr(fit.eff, name) == pytest.approx(getattr(truth, name), rel=0.05), name
    assert fit.software["argonne"]["overhead_s"] == pytest.approx(truth.overhead_s, rel=0.1)


def test_fit_is_not_a_lookup_it_fails_on_data_it_cannot_express() -> None:
    """Latencies that fall as 1/tp with no fixed cost at all except a huge constant at tp 4
    cannot be fitted: the residual stays large (the test that the fit can fail)."""
    truth = EfficiencyParams(mfu=0.55, mbu=0.8, overhead_s=0.004, decode_mfu=0.35)
    data = _synthetic(truth, PowerParams())
    data.loc[(data["tp"] == 4) & (data["model"] == "llama-2-7b"), "measured"] *= 3.0
    fit = fit_gpu(data, "h100")
    err = np.abs(fit.predict(data) / data["measured"] - 1.0)
    assert err.max() > 0.3


def test_closed_batch_runs_in_waves_when_the_kv_cache_is_short() -> None:
    """Llama-2-7B on one 40 GB A100 holds ~45,000 tokens of KV cache: batch 32 x 2,048 tokens
    runs in waves and takes about twice batch 16's time, as the measurements show."""
    perf = ReplicaPerf(bundled_llms()["llama-2-7b"], bundled_gpus()["a100-40gb"], 1,
                       calibrated_efficiency("a100-40gb"))  # fmt: skip
    r16 = closed_batch_s(perf, 16, 1024, 1024, calibrated_power("a100-40gb"))
    r32 = closed_batch_s(perf, 32, 1024, 1024, calibrated_power("a100-40gb"))
    assert r16.waves == 1 and r32.waves == 2
    assert 1.7 < r32.total_s / r16.total_s < 2.3
    assert r32.gpu_energy_j > r16.gpu_energy_j > 0


# -- loaders on the real data --------------------------------------------------------------------
def test_argonne_loader() -> None:
    runs = load_argonne_runs(require_shared_data())
    assert set(runs["gpu"]) == {"a100-40gb", "h100-80gb"}
    assert set(runs["framework"]) == {"vllm", "tensorrt-llm"}
    vllm = runs[runs["framework"] == "vllm"]
    assert len(vllm) == 391 and set(vllm["tp"]) == {1, 2, 4}
    assert set(vllm["tokens"]) == {128, 256, 512, 1024, 2048}
    assert vllm["latency_s"].between(0.3, 3000).all()  # seconds, a whole batch
    power = load_argonne_power(require_shared_data())
    assert power["power_w"].between(150, 700).all()  # W, not mW
    ttft = load_argonne_ttft(require_shared_data())
    assert ttft["ttft_s"].between(0.2, 2.0).all()


def test_vidur_and_mlenergy_loaders() -> None:
    vidur = load_vidur_prefill(require_shared_data())
    assert set(vidur["gpu"]) == {"a100-80gb", "h100-80gb", "a40"}
    assert not vidur.duplicated(["gpu", "model", "tp", "num_tokens"]).any()
    mle = load_mlenergy(require_shared_data())
    assert len(mle) == 140 and set(mle["gpu"]) == {"h100-80gb", "b200"}
    assert not mle["host_bound"].any()
    # the mean step (batch / throughput) is never shorter than the median step by much (the
    # GPQA runs' 7,000-8,000-token answers come closest: 94 % at batch 64-96)
    assert (mle["avg_batch_size"] / mle["output_tokens_per_s"] > 0.93 * mle["median_itl_s"]).all()
    every = load_mlenergy(require_shared_data(), include_host_bound=True)
    bound = every[every["host_bound"]]
    # only B200 runs are screened, and the B200 GPQA runs (2.3-4.5x slower than the H100's,
    # at a third of the chat runs' power) are screened whole
    assert len(every) == 159 and set(bound["gpu"]) == {"b200"}
    gpqa = every[(every["gpu"] == "b200") & (every["task"] == "gpqa")]
    assert gpqa["host_bound"].all() and len(gpqa) == 15


def _runs(rows: list[tuple[str, str, int, int, float]]) -> pd.DataFrame:
    """(gpu, task, num_gpus, max_num_seqs, median ITL s) rows of one model."""
    return pd.DataFrame(
        [{"gpu": g, "model": "m", "task": t, "num_gpus": n, "max_num_seqs": b,
          "median_itl_s": itl} for g, t, n, b, itl in rows]  # fmt: skip
    )


@pytest.mark.parametrize(
    ("b200_itl", "want"),
    [
        ((0.005, 0.006, 0.008), (False, False, False)),  # faster than the H100: GPU-bound
        ((0.005, 0.030, 0.008), (False, True, False)),  # one slow run: only it
        ((0.030, 0.030, 0.040), (True, True, True)),  # most slow: the whole set
    ],
)
def test_host_bound_screen(b200_itl: tuple[float, ...], want: tuple[bool, ...]) -> None:
    """A B200 run slower than an H100 run of the same model and task at the same or a larger
    batch is host-bound; a set of runs that mostly is, is host-bound whole."""
    from slit.calibration.mlenergy import host_bound

    h100 = [("h100-80gb", "chat", 1, b, itl) for b, itl in ((8, 0.008), (16, 0.009), (32, 0.012))]
    b200 = [("b200", "chat", 1, b, itl) for b, itl in zip((8, 16, 32), b200_itl, strict=True)]
    frame = _runs(h100 + b200)
    got = host_bound(frame)
    assert not got[:3].any()  # the slower GPU is never screened
    assert tuple(got[3:]) == want


def test_host_bound_screen_needs_a_comparable_partner() -> None:
    """No partner run of the same task, or one on more than twice the GPUs: nothing to compare,
    nothing screened."""
    from slit.calibration.mlenergy import host_bound

    other_task = _runs([("h100-80gb", "code", 1, 8, 0.001), ("b200", "chat", 1, 8, 0.05)])
    assert not host_bound(other_task).any()
    many_gpus = _runs([("h100-80gb", "chat", 8, 8, 0.001), ("b200", "chat", 1, 8, 0.05)])
    assert not host_bound(many_gpus).any()


def test_observations_cover_every_source_and_metric(obs: pd.DataFrame) -> None:
    got = set(zip(obs["source"], obs["metric"], strict=True))
    assert {("vidur", "prefill_dense"), ("argonne", "batch_latency"), ("argonne", "ttft"),
            ("argonne", "power"), ("mlenergy", "decode_step"), ("mlenergy", "mean_step"),
            ("mlenergy", "power"), ("mlenergy", "energy_per_token")} <= got  # fmt: skip
    assert (obs["measured"] > 0).all()


# -- the committed catalog -------------------------------------------------------------------
@pytest.mark.slow
def test_committed_catalog_is_the_fit(fits) -> None:
    """efficiency.yaml equals a refit to its 4-digit rounding (regenerate it with
    `slit calibrate --from DATA --write slit/data/catalog/efficiency.yaml` when this fails)."""
    from slit.calibration.joint import FAMILIES

    for family, fit in fits.items():
        want_eff = fit.catalog_efficiency()
        for gpu in FAMILIES.get(family, (family,)):
            shipped = calibrated_efficiency(gpu)
            for f in fields(EfficiencyParams):
                got, want = getattr(shipped, f.name), getattr(want_eff, f.name)
                if want is None or got is None:
                    assert got is want, (gpu, f.name)
                    continue
                if family == "a40" and f.name in SOFTWARE_PARAMS:
                    continue  # serving overheads borrowed from H100 (see the next test)
                assert got == pytest.approx(want, rel=2e-3, abs=1e-9), (gpu, f.name)
            if "power" in fit.metrics:
                assert calibrated_power(gpu).base_activity == pytest.approx(
                    fit.power.base_activity, rel=2e-3, abs=1e-9
                )


def test_borrowed_values_are_named_in_the_catalog() -> None:
    from slit.models.latency import efficiency_provenance

    prov = efficiency_provenance()
    assert prov["h100-80gb"]["borrowed"] == []
    assert any("power" in b for b in prov["a40"]["borrowed"])  # no power data for A40
    assert any("mfu" in b for b in prov["b200"]["borrowed"])  # no prefill data for B200
    assert prov["default"]["borrowed"] == ["all from h100"]
    for gpu in ("a100-40gb", "a100-80gb"):
        assert "argonne" in prov[gpu]["fitted_on"] and "2024" in str(prov[gpu]["software"])


# -- held-out error --------------------------------------------------------------------------
# The cells docs/models.md reports as meeting their target when each tensor-parallel degree is
# predicted by a fit without it. A change of model or data that breaks one fails here.
MET = [
    ("h100-80gb", tp, "prefill time") for tp in (1, 2, 4, 8)
] + [("a100-80gb", tp, "prefill time") for tp in (1, 2, 4, 8)] + [
    ("a40", tp, "prefill time") for tp in (1, 2, 4, 8)
] + [
    ("h100-80gb", tp, "decode step time") for tp in (1, 2, 4)
] + [
    ("a100-40gb", 1, "decode step time"), ("a100-40gb", 2, "decode step time"),
    ("h100-80gb", 1, "average power"), ("h100-80gb", 2, "average power"),
    ("h100-80gb", 2, "energy per output token"), ("h100-80gb", 4, "energy per output token"),
    ("a100-40gb", 1, "prefill time"), ("b200", 1, "average power"),
    ("b200", 2, "average power"), ("b200", 2, "energy per output token"),
    ("b200", 8, "average power"), ("b200", 8, "energy per output token"),
]  # fmt: skip


@pytest.mark.slow
def test_held_out_error_meets_the_targets_where_the_docs_say_so(held_out_tp: pd.DataFrame) -> None:
    from slit.calibration.pipeline import TARGET_BIAS_PCT, TARGET_MAPE_PCT

    table = headline_table(held_out_tp).set_index(["gpu", "tp", "quantity"])
    for key in MET:
        row = table.loc[key]
        assert row["mape_pct"] <= TARGET_MAPE_PCT[key[2]], (key, row.to_dict())
        assert abs(row["bias_pct"]) <= TARGET_BIAS_PCT, (key, row.to_dict())


#: Largest relative error of the held-out tp-to-tp-1 decode ratio, per GPU (docs/models.md):
#: H100 meets 15 %; on A100 the held-out tp 2 step is 17-31 % too slow (a fit without tp 2 has
#: only tp 1, with no all-reduce, and tp 4 to place it).
TREND_TOLERANCE = {"h100-80gb": 0.15, "a100-40gb": 0.35}


def test_decode_tp_trend_is_predicted_without_seeing_the_degree(held_out_tp: pd.DataFrame) -> None:
    """Batch-1 decode steps of the 7-8B models from tp 1 to tp 4 (measured: a flattening fall,
    e.g. H100 Llama-2-7B 7.6 -> 6.0 -> 5.9 ms): the held-out prediction of each degree's step,
    relative to tp 1's, against the measured ratio."""
    h = held_out_tp
    d = h[(h["metric"] == "decode_step") & (h["source"] == "argonne") & (h["batch"] == 1)]
    g = d.groupby(["gpu", "model", "tokens", "tp"])[["measured", "predicted"]].mean()
    checked = 0
    for (gpu, model, tokens), grp in g.groupby(level=[0, 1, 2]):
        grp = grp.droplevel([0, 1, 2])
        if 1 not in grp.index or len(grp) < 2:
            continue
        for tp in grp.index[grp.index > 1]:
            meas = grp.loc[tp, "measured"] / grp.loc[1, "measured"]
            pred = grp.loc[tp, "predicted"] / grp.loc[1, "predicted"]
            tol = TREND_TOLERANCE[str(gpu)]
            assert pred == pytest.approx(meas, rel=tol), (gpu, model, tokens, tp, meas, pred)
            assert pred < 1.0  # more GPUs never slow a batch-1 step down
            checked += 1
    assert checked >= 50


def test_acceptance_table_shape(obs: pd.DataFrame) -> None:
    from slit.calibration.joint import JointCalibration

    fake = JointCalibration(
        fits={},
        in_sample=pd.DataFrame(),
        held_out={
            "tp": obs.head(50).assign(predicted=obs.head(50)["measured"] * 1.05, error_pct=5.0)
        },
    )
    table = acceptance_table(fake)
    assert {"gpu", "tp", "quantity", "mape_pct", "bias_pct", "n", "meets"} <= set(table)
    assert table["meets"].all()
    assert summarize(fake.held_out["tp"])["mape_pct"].eq(5.0).all()


@pytest.mark.slow
def test_fidelity_benchmark_json(tmp_path) -> None:
    data = require_shared_data()
    before = set(p.name for p in REPO.iterdir())
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "fidelity.py"), "--from", str(data), "--json",
         "--hold-out", "model"],  # fmt: skip
        capture_output=True, text=True, check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    assert set(doc["fits"]) == {"a100", "h100", "a40", "b200"}
    assert {"gpu", "tp", "quantity", "mape_pct", "bias_pct", "n"} <= set(
        doc["held_out"]["model"][0]
    )
    assert set(p.name for p in REPO.iterdir()) == before


def test_start_values_are_not_the_answer(fits) -> None:
    """Every family with serving data moved its chip parameters away from the start values."""
    for family in ("a100", "h100"):
        eff = fits[family].eff
        assert eff.mbu != START.mbu and eff.attention_mbu != START.attention_mbu
