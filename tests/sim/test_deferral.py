"""Request classes and deferral policies: how classes are drawn, what at_once and cleanest
decide, what the records and the summary say, and the errors of bad classes and policies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slit.errors import ScenarioError
from slit.plugins import DEFERRALS
from slit.scenario.loader import scenario_from_dict
from slit.sim.deferral import DeferralPolicy, Releases, register_deferral
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict

CLASS_COLUMNS = ["request_class", "deadline_s", "defer_s", "deadline_missed", "slo_met"]


def _with_classes(classes: list[dict], deferral: dict | None = None, **time: float) -> dict:
    data = small_scenario_dict()
    data["time"].update(time or {"horizon_s": 1800, "epoch_s": 300, "drain_s": 3600})
    data["workload"]["rate_per_s"] = 3.0
    data["workload"]["classes"] = classes
    # region a's carbon follows a real day's profile, so that epochs differ
    data["regions"][0]["signals"] = {"source": "profile", "zone": "DE-LU"}
    if deferral is not None:
        data["routing"]["deferral"] = deferral
    return data


def test_classes_are_drawn_with_their_shares_per_origin_and_model():
    data = _with_classes(
        [{"name": "batch", "deadline_s": 3600, "share": 0.3, "shares": {"b": 0.8}}],
        horizon_s=7200, epoch_s=900, drain_s=0,
    )  # fmt: skip
    req = simulate(scenario_from_dict(data)).requests
    for origin, p in (("a", 0.3), ("b", 0.8)):
        mine = req[req["origin"] == origin]
        n = len(mine)
        share = (mine["request_class"] == "batch").mean()
        assert n > 1000
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n), (origin, share)
    batch = req[req["request_class"] == "batch"]
    assert (batch["deadline_s"] == 3600).all()
    assert req.loc[req["request_class"] == "interactive", "deadline_s"].isna().all()


def test_a_class_of_share_zero_changes_nothing_but_adds_the_class_columns():
    plain = small_scenario_dict()
    plain["time"].update(horizon_s=600, epoch_s=300)
    classed = small_scenario_dict()
    classed["time"].update(horizon_s=600, epoch_s=300)
    classed["workload"]["classes"] = [{"name": "batch", "deadline_s": 600, "share": 0.0}]
    a = simulate(scenario_from_dict(plain)).requests
    b = simulate(scenario_from_dict(classed)).requests
    assert (b["request_class"] == "interactive").all()
    # the class's name is among the column's categories, with no request in it
    assert list(b["request_class"].cat.categories) == ["interactive", "batch"]
    for frame in (a, b):
        frame["request_class"] = frame["request_class"].astype(str)
    pd.testing.assert_frame_equal(a, b)


def test_at_once_serves_deferrable_requests_exactly_as_interactive_ones():
    """Run-at-once is the baseline: the same run as without classes, request by request."""
    base = _with_classes([])
    deferred = _with_classes([{"name": "batch", "deadline_s": 1800, "share": 0.5}],
                             {"policy": "at_once"})  # fmt: skip
    a = simulate(scenario_from_dict(base))
    b = simulate(scenario_from_dict(deferred))
    assert (b.requests["request_class"] == "batch").mean() > 0.3
    same = [c for c in a.requests.columns if c not in CLASS_COLUMNS]
    pd.testing.assert_frame_equal(a.requests[same], b.requests[same])
    # the same series, the deferrable requests now counted among the arrivals
    assert (b.timeseries["deferrable_arrivals"] <= b.timeseries["arrivals"]).all()
    batch = (b.requests["request_class"] == "batch").sum()
    assert b.timeseries["deferrable_arrivals"].sum() == batch
    pd.testing.assert_frame_equal(a.timeseries.drop(columns="deferrable_arrivals"),
                                  b.timeseries.drop(columns="deferrable_arrivals"))
    assert (b.requests["defer_s"] == 0).all()


@pytest.mark.parametrize("routing", ["nearest", "least_loaded"])
@pytest.mark.parametrize("where", ["own", "route"])
def test_cleanest_releases_each_request_in_the_cleanest_epoch_of_its_window(routing, where):
    margin = 300.0
    data = _with_classes(
        [{"name": "batch", "deadline_s": 2400, "share": 0.4}],
        {"policy": "cleanest", "params": {"margin_s": margin, "datacenter": where}},
    )
    data["routing"]["policy"] = routing
    result = simulate(scenario_from_dict(data))
    req, ts = result.requests, result.timeseries
    batch = req[req["request_class"] == "batch"]
    assert result.summary["deadline_misses"] == 0
    # some wait, none past its window's latest start, none before its arrival
    assert (batch["defer_s"] > 0).any()
    end_s = 1800 + 3600
    latest = np.minimum(batch["arrival_s"] + batch["deadline_s"], end_s) - margin
    release = batch["arrival_s"] + batch["defer_s"]
    assert (release <= np.maximum(latest, batch["arrival_s"]) + 1e-9).all()
    # with `own`, the datacenter and epoch of release have the window's lowest carbon per IT
    # kWh among the datacenters serving the LLM
    per_it = ts.pivot(index="epoch", columns="datacenter", values="carbon_g_per_kwh") * ts.pivot(
        index="epoch", columns="datacenter", values="pue"
    )
    epoch_s = 300.0
    for _, r in batch.head(200).iterrows():
        e0 = int(r["arrival_s"] // epoch_s)
        e1 = max(e0, int(min(r["arrival_s"] + r["deadline_s"], end_s) - margin) // 300)
        e = int((r["arrival_s"] + r["defer_s"]) // epoch_s)
        best = per_it.iloc[e0 : e1 + 1].min().min()
        if where == "own":
            assert per_it.iloc[e][str(r["datacenter"])] == pytest.approx(best)
        else:
            assert per_it.iloc[e].min() == pytest.approx(best)


def test_waiting_for_cleaner_epochs_lowers_the_deferred_requests_carbon():
    data = _with_classes([{"name": "batch", "deadline_s": 3000, "share": 0.5}],
                         {"policy": "cleanest"})  # fmt: skip
    data["routing"]["policy"] = "lowest_carbon"
    shifted = simulate(scenario_from_dict(data)).requests
    data["routing"]["deferral"] = {"policy": "at_once"}
    at_once = simulate(scenario_from_dict(data)).requests

    def per_kwh(req: pd.DataFrame) -> float:
        batch = req[req["request_class"] == "batch"]
        return float(batch["carbon_kg"].sum() / batch["it_energy_kwh"].sum())

    assert per_kwh(shifted) < per_kwh(at_once)


class _Late(DeferralPolicy):
    """Releases every deferrable request a day late (after the run's end)."""

    def schedule(self, jobs, ctx):
        return Releases(jobs.arrival_s + 86400.0, np.full(len(jobs), -1))


@pytest.fixture
def late_policy():
    register_deferral("test-late")(_Late)
    yield "test-late"
    DEFERRALS.remove("test-late")


@pytest.mark.parametrize("routing", ["nearest", "least_loaded"])
def test_requests_still_held_at_the_end_are_recorded_as_missed(late_policy, routing):
    data = _with_classes([{"name": "batch", "deadline_s": 600, "share": 0.5}],
                         {"policy": late_policy})  # fmt: skip
    data["routing"]["policy"] = routing
    result = simulate(scenario_from_dict(data))
    req, s = result.requests, result.summary
    held = req[req["request_class"] == "batch"]
    assert len(held) > 100
    assert req["request_id"].tolist() == list(range(len(req)))
    assert s["completed"] + s["dropped"] == s["requests"] == len(req)
    assert held["datacenter"].isna().all() and not held["completed"].any()
    assert held["defer_s"].isna().all()
    assert (held["drop_reason"] == "unfinished").all()
    assert s["deadline_misses"] == len(held)
    assert s["classes"]["batch"]["deadline_misses"] == len(held)
    assert s["classes"]["interactive"]["completed"] == s["completed"]


class _Early(DeferralPolicy):
    def schedule(self, jobs, ctx):
        return Releases(jobs.arrival_s - 1.0, np.full(len(jobs), -1))


class _Elsewhere(DeferralPolicy):
    def schedule(self, jobs, ctx):
        return Releases(jobs.arrival_s.copy(), np.full(len(jobs), 5))


@pytest.mark.parametrize(
    ("policy", "message"),
    [(_Early, "released request .* before its arrival"),
     (_Elsewhere, "sent request .* which may not serve it")],
)  # fmt: skip
def test_a_deferral_policy_that_breaks_the_rules_is_refused(policy, message):
    register_deferral("test-bad")(policy)
    try:
        data = _with_classes([{"name": "batch", "deadline_s": 600, "share": 0.5}],
                             {"policy": "test-bad"})  # fmt: skip
        with pytest.raises(ValueError, match=message):
            simulate(scenario_from_dict(data))
    finally:
        DEFERRALS.remove("test-bad")


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([{"name": "interactive", "deadline_s": 60}], "names the requests of no listed class"),
        ([{"name": "x", "deadline_s": 60}, {"name": "x", "deadline_s": 90}],
         "given more than once"),
        ([{"name": "x", "deadline_s": 60, "share": 0.6},
          {"name": "y", "deadline_s": 60, "shares": {"a": 0.5}}],
         "add up to 1.1 for origin a"),
        ([{"name": "x", "deadline_s": 60, "shares": {"zz": 0.5}}], "unknown region 'zz'"),
        ([{"name": "x", "deadline_s": 60, "shares": {"a": {"gpt-9": 0.5}}}], "unknown LLM"),
        ([{"name": "x", "deadline_s": 0}], "greater than 0"),
        ([{"name": "x y", "deadline_s": 60}], "should match pattern"),
        ([{"name": "x", "deadline_s": 60, "share": 1.5}], "less than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_classes_are_refused_with_a_located_message(classes, message):
    data = small_scenario_dict()
    data["workload"]["classes"] = classes
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data)


def test_bad_deferral_parameters_are_refused_at_their_key():
    data = _with_classes([{"name": "batch", "deadline_s": 600, "share": 0.5}],
                         {"policy": "cleanest", "params": {"signal": "wind", "nope": 1}})
    with pytest.raises(ScenarioError) as err:
        simulate(scenario_from_dict(data))
    text = str(err.value)
    assert "routing.deferral.params.signal" in text and "routing.deferral.params.nope" in text
    assert "unknown parameter" in text
