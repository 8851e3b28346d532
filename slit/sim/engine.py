"""The discrete-event simulator of geo-distributed LLM serving (SimPy).

Structure: one arrival process routes each request (a :class:`~slit.sim.policies.RoutingPolicy`
picks the datacenter: at its arrival, or before the run for a policy that does not read the
load); after the network delay the request joins the queue of a replica in that datacenter:
the one queue its LLM's replicas there share (``shared`` dispatch), or, with a per-replica
dispatch (``round_robin``, ``shortest_queue``, ``least_kv``, see :class:`Dispatcher`), the own
queue of the replica it is assigned to on arrival.
Each :class:`Replica` is a state machine driven by event callbacks (one SimPy event per action,
no process) and runs continuous batching as vLLM does: when requests wait and
fit (batch slots, KV-cache tokens, a prefill token budget), it runs one prefill iteration for them,
after which they join the running batch; otherwise it runs decode iterations of the whole batch.
A batch changes only when a request finishes, the KV cache fills (the newest request is preempted
and later recomputed) or a new request can be admitted, so the replica advances many decode
iterations in one event, with their time summed in closed form
(:func:`slit.models.latency.sum_of_max_lines`). Nothing here depends on per-token events.

Energy: every GPU draws idle power all the time, except while a replica of a pool with a
``keep_alive_s`` has unloaded its weights and released its GPUs (scale to zero: it unloads after
that long idle and loads again, paying the load time, when a request needs it); busy intervals
add the phase's extra power. A
request is charged its share of the full (not extra) power of the iterations it took part in:
prefill by its share of the prompt tokens, decode equally per batch member; by the same shares,
its part of the embodied carbon of the replica's GPU time in those iterations (idle GPU time,
like idle energy, is charged to no request).

A request is a Python object only while it is in flight; its outcome then goes to the packed
:class:`~slit.sim.request_log.RequestLog`, from which the per-request records are built.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from slit.inputs.fleet import PoolInputs
from slit.models.latency import (
    decode_stretch_terms,
    iterations_to_cover,
    sum_of_max_lines,
)
from slit.models.power import it_power_w, iteration_activity
from slit.sim.request_log import RequestLog

DISPATCH_POLICIES = ("shared", "round_robin", "shortest_queue", "least_kv")
"""How a datacenter's requests of one LLM reach its replicas (a pool's ``dispatch``): one
queue shared by the replicas, or a queue per replica fed by a :class:`Dispatcher`."""

#: Share of a replica's KV cache that admission leaves free (vLLM's block-manager watermark,
#: 1 % of the GPU blocks by default): requests are admitted, and preempted ones re-admitted,
#: only while this much stays free for the running batch to grow into.
KV_WATERMARK = 0.01


class Request:
    """Mutable state of one request during the simulation (flattened into a record after)."""

    __slots__ = (
        "rid",
        "origin",
        "model",
        "prompt",
        "output",
        "arrival",
        "dc",
        "rtt_s",
        "transfer_s",
        "arrive_dc",
        "prefill_start",
        "first_token",
        "finish",
        "generated",
        "preemptions",
        "load_wait",
        "kv_transfer_s",
        "prefilled",
        "energy_j",
        "carbon_kg",
        "water_l",
        "cost_usd",
        "embodied_kg",
        "mark",
        "drop",
    )

    def __init__(
        self, rid: int, origin: int, model: int, prompt: int, output: int, arrival: float
    ) -> None:
        self.rid, self.origin, self.model = rid, origin, model
        self.prompt, self.output, self.arrival = prompt, output, arrival
        self.dc = -1
        self.rtt_s = self.transfer_s = 0.0
        self.arrive_dc = self.prefill_start = self.first_token = self.finish = np.nan
        self.generated = 0
        self.prefilled = 0
        self.preemptions = 0
        self.load_wait = self.kv_transfer_s = 0.0
        self.energy_j = self.carbon_kg = self.water_l = self.cost_usd = 0.0
        self.embodied_kg = 0.0
        self.mark: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.drop = ""


_NO_BATCH: list[Request] = []
"""A replica's prefill batch when none is under way (shared, never changed)."""


class Meter:
    """Per-epoch energy accounting of one datacenter (extra power above idle, busy GPU time)."""

    def __init__(self, n_epochs: int, epoch_s: float) -> None:
        self.epoch_s = epoch_s
        self.n = n_epochs
        # plain lists: updating one element of a numpy array costs several times more, and
        # these are updated once or twice per decode stretch (the sums are the same doubles)
        self.extra_j: list[float] = [0.0] * n_epochs
        self.busy_gpu_s: list[float] = [0.0] * n_epochs
        self.arrivals: list[int] = [0] * n_epochs
        self.completions: list[int] = [0] * n_epochs
        # weight loads started and GPU time released (scale to zero, see Replica._expire)
        self.loads: list[int] = [0] * n_epochs
        self.released_gpu_s: list[float] = [0.0] * n_epochs

    def epoch(self, t: float) -> int:
        i = int(t / self.epoch_s)
        return i if i < self.n else self.n - 1

    def add_busy(self, t0: float, t1: float, extra_w: float, n_gpus: int) -> int:
        """Book an interval ``[t0, t1)`` of ``extra_w`` above idle on ``n_gpus`` GPUs; returns
        the epoch of ``t0``."""
        first = i = int(t0 / self.epoch_s)  # self.epoch(t0), inline
        last = self.n - 1
        if i >= last:
            first = i = last
        if i == last or t1 <= (i + 1) * self.epoch_s:  # within one epoch: the usual case
            dt = t1 - t0
            self.extra_j[i] += extra_w * dt
            self.busy_gpu_s[i] += n_gpus * dt
            return first
        while t0 < t1:
            edge = (i + 1) * self.epoch_s if i < last else t1
            seg_end = min(t1, edge)
            dt = seg_end - t0
            self.extra_j[i] += extra_w * dt
            self.busy_gpu_s[i] += n_gpus * dt
            t0, i = seg_end, i + 1
        return first

    def add_released(self, t0: float, t1: float, idle_w: float, n_gpus: int) -> None:
        """Book ``[t0, t1)`` during which ``n_gpus`` GPUs of idle IT power ``idle_w`` were
        released (weights unloaded under a keep-alive): the idle power every GPU is charged
        for all the time is taken back for the interval."""
        if t1 <= t0:
            return
        i, last = self.epoch(t0), self.n - 1
        while t0 < t1:
            edge = (i + 1) * self.epoch_s if i < last else t1
            seg_end = min(t1, edge)
            dt = seg_end - t0
            self.extra_j[i] -= idle_w * dt
            self.released_gpu_s[i] += n_gpus * dt
            t0, i = seg_end, i + 1


@dataclass(frozen=True)
class ImpactFactors:
    """Per-epoch conversion of one joule of IT energy at one datacenter into impacts.

    Plain lists of floats: the engine reads one element per booking, and a Python float is
    cheaper to read and to multiply than a numpy scalar (the values are the same doubles)."""

    carbon_kg_per_j: list[float]
    water_l_per_j: list[float]
    cost_usd_per_j: list[float]


class Replica:
    """One model replica (``tp`` GPUs) with continuous batching and a KV-cache limit.

    The replica is a state machine driven by event callbacks rather than a SimPy process: each
    action (loading the weights, a prefill, a chunked-prefill iteration, a stretch of decode
    iterations) schedules one event whose callback completes the action and starts the next.
    These are the events a process would wait on, created in the same order, so the run is
    the same; what is saved is resuming a chain of generators for every one of them, which
    at a million requests is a large share of the simulator's time.
    """

    def __init__(
        self,
        env: simpy.Environment,
        dc: Datacenter,
        queue: PoolQueue,
        pool: PoolInputs,
        role: str = "mixed",
    ) -> None:
        """One replica of ``pool`` (its latency, power and KV models and limits) in ``dc``,
        reading ``queue``, as a ``mixed``, ``prefill`` or ``decode`` replica."""
        if role not in ("mixed", "prefill", "decode"):
            raise ValueError(f"replica role must be mixed, prefill or decode, not {role!r}")
        perf = pool.perf
        kv_capacity_tokens = pool.kv_capacity_tokens
        self.role = role
        self.chunked = pool.chunked_prefill and role != "decode"
        self.prefilling: list[Request] = []  # admitted, prompt partly prefilled (chunked mode)
        self.env = env
        self.dc = dc
        self.perf = perf
        self.kv_capacity = kv_capacity_tokens
        # admission keeps vLLM's watermark free: growth of the running batch may use it, a
        # new or recomputed request may not (without it a preempted request is re-admitted at
        # once into the room it just freed and preempted again, step after step)
        self.kv_admit_tokens = kv_capacity_tokens - int(KV_WATERMARK * kv_capacity_tokens)
        self.max_batch = pool.max_batch
        self.max_prefill_tokens = pool.max_prefill_tokens
        self.loaded = pool.resident
        self.load_s = pool.load_s
        # False once capacity control powers the replica down (see power_down)
        self.powered = True
        # scale to zero: with a keep-alive, a replica idle that long unloads its weights and
        # releases its GPUs (no power drawn) until a request makes it load again; a dispatch
        # then prefers a loaded replica by this much (see PoolQueue.notify)
        self.keep_alive_s = pool.keep_alive_s
        self.released_since: float | None = (
            0.0 if self.keep_alive_s is not None and not self.loaded else None
        )
        self.cold_key_s = self.load_s if self.released_since is not None else 0.0
        self.n_gpus = perf.tp
        self.server_overhead = pool.server_overhead_fraction
        self.server_w = pool.server_overhead_w_per_gpu
        self.idle_w = self._it_w(0.0)
        # embodied carbon of the replica's GPUs per second, kg/s (0 when it is not counted)
        self.embodied_kg_per_s = pool.embodied_kg_per_gpu_s * self.n_gpus
        self.power = pool.power
        self.queue = queue
        self.waiting = queue.waiting  # shared by every replica of this LLM in the datacenter
        self.running: list[Request] = []
        self.kv_used = 0
        self.busy_s = 0.0
        self.attributed_j = 0.0
        # the event the replica waits on while it could take more work: a plain event when
        # idle, the timer of its decode stretch while decoding (see wake_up)
        self.wake: simpy.Event | None = None
        self.woken = False
        # per-member cumulative decode share (energy J, carbon kg, water L, cost USD, embodied
        # carbon kg)
        self.share = [0.0, 0.0, 0.0, 0.0, 0.0]
        # relative speed for dispatch inside a datacenter: a mid-size decode iteration
        self.step_s = perf.decode_step_time_s(32, 32 * 1024)
        # the action under way: its start, its requests and what its end needs
        self._t0 = 0.0
        self._batch: list[Request] = []
        self._tokens: list[int] = []
        self._total = 0.0
        self._chunks: list[tuple[Request, int]] = []
        self._hybrid_load = (0.0, 0, 0.0)  # (chunk tokens, decode batch, activity)
        self._prefill_w = 0.0  # IT power of the prefill under way, W
        self._lines: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
        self._k = 0
        self._duration = 0.0

    def _it_w(self, activity: float) -> float:
        """IT power of this replica's GPUs and their share of the server at ``activity``, W."""
        return it_power_w(self.perf.gpu, self.n_gpus, activity, self.server_overhead, self.server_w)

    def start(self) -> None:
        """Take the first decision, before the first event (the replica goes idle or loads)."""
        self._next()

    # -- queue ------------------------------------------------------------------------------
    def wake_up(self) -> None:
        """Make the replica decide again now. An idle replica's event is triggered; a decoding
        replica's timer cannot fire early, so its callback moves to an event that fires now and
        the timer, when it comes, finds nothing to call."""
        ev = self.wake
        if ev is None or self.woken:
            return
        self.woken = True
        if not ev.triggered:
            ev.succeed()
        else:
            now = self.env.event()
            now.callbacks, ev.callbacks = ev.callbacks, []
            now.succeed()

    def take_now(self) -> None:
        """Decide again now, in the caller's event: an idle replica starts on the queue, a
        decoding one ends its stretch after the iteration under way. The same as
        :meth:`wake_up` without the extra event; its abandoned event or timer calls nothing."""
        ev = self.wake
        if ev is None or self.woken:
            return
        if self.env.peek() <= self.env.now:
            # more happens at this instant (say, requests that arrive together): decide after
            # it, by the wake-up event, so that they can share one prefill
            self.wake_up()
            return
        if ev.triggered:  # the decode stretch's timer, already scheduled: detach from it
            ev.callbacks = []
            self._decode_woken(ev)
        else:
            self.wake = None
            self._next()

    def _fits(self, req: Request) -> bool:
        return self.kv_used + req.prompt + req.generated + 1 <= self.kv_admit_tokens

    def holding(self) -> int:
        """Requests this replica holds: queued (its own queue, or the shared one), in a prefill
        iteration, prefilling in chunks, or running (``shortest_queue`` dispatch reads it)."""
        return len(self.waiting) + len(self._batch) + len(self.prefilling) + len(self.running)

    def kv_demand(self) -> float:
        """KV-cache demand as a share of the capacity: the tokens the cache holds now (as of
        the replica's last state change: a decode stretch adds its tokens when it ends) plus,
        for every request in its own queue, the ``prompt + generated`` tokens its admission
        will take (``least_kv`` dispatch reads it; needs a :class:`ReplicaWaiting` queue)."""
        waiting = self.waiting
        assert isinstance(waiting, ReplicaWaiting)
        return (self.kv_used + waiting.tokens) / self.kv_capacity

    # -- accounting -------------------------------------------------------------------------
    def _book(self, t0: float, t1: float, watts: float) -> int:
        """Book ``[t0, t1)`` at ``watts``; returns the epoch of ``t0``."""
        self.busy_s += t1 - t0
        self.attributed_j += watts * (t1 - t0)
        return self.dc.meter.add_busy(t0, t1, watts - self.idle_w, self.n_gpus)

    def _charge(self, req: Request, joules: float, e: int) -> None:
        f = self.dc.factors
        req.energy_j += joules
        req.carbon_kg += joules * f.carbon_kg_per_j[e]
        req.water_l += joules * f.water_l_per_j[e]
        req.cost_usd += joules * f.cost_usd_per_j[e]

    def _join(self, req: Request) -> None:
        s = self.share
        req.mark = (s[0], s[1], s[2], s[3], s[4])
        self.running.append(req)

    def _collect(self, req: Request) -> None:
        """Charge ``req`` its decode share since it joined (or was last charged)."""
        m, s = req.mark, self.share
        req.energy_j += s[0] - m[0]
        req.carbon_kg += s[1] - m[1]
        req.water_l += s[2] - m[2]
        req.cost_usd += s[3] - m[3]
        req.embodied_kg += s[4] - m[4]
        req.mark = (s[0], s[1], s[2], s[3], s[4])

    def _leave(self, req: Request) -> None:
        self._collect(req)
        self.kv_used -= req.prompt + req.generated

    def settle(self) -> None:
        """Charge requests still running at the end their decode share so far (energy balance
        holds whether or not they finished)."""
        for req in self.running:
            self._collect(req)
        if self.released_since is not None:
            self.dc.meter.add_released(self.released_since, self.env.now, self.idle_w, self.n_gpus)
            self.released_since = None

    def _finish(self, req: Request, now: float) -> None:
        req.finish = now
        dc = self.dc
        dc.meter.completions[dc.meter.epoch(now)] += 1
        dc.request_left()
        dc.sim.resolve(req)

    # -- the replica's life -----------------------------------------------------------------
    def _next(self) -> None:
        """Start the next action: load the weights, prefill, a chunked-prefill iteration or
        decode; with nothing to do (or a queue head that does not fit), wait to be woken."""
        while True:
            if not self.loaded and self.waiting and self.powered:
                now = self._t0 = self.env.now
                meter = self.dc.meter
                meter.loads[meter.epoch(now)] += 1
                if self.released_since is not None:
                    meter.add_released(self.released_since, now, self.idle_w, self.n_gpus)
                    self.released_since = None
                self.env.timeout(self.load_s).callbacks.append(self._loaded)
                return
            if self.role == "decode":
                # requests arrive here with their KV cache: they join without a prefill
                if self.loaded and self.powered:
                    self._admit_prefilled()
            elif self.chunked:
                if self.loaded and self.waiting and self.powered:
                    self.prefilling += self._admit()
                if self.prefilling:
                    if self._start_hybrid():
                        return
                    continue  # a request was preempted: decide again
            elif self.loaded and self.waiting and self.powered:
                admitted = self._admit()
                if admitted:
                    self._start_prefill(admitted)
                    return
            if self.running:
                if self._start_decode():
                    return
                continue  # a request was preempted: decide again
            if not self.powered:
                self._release_gpus()  # powered down and its last request done
                return
            self.wake = ev = self.env.event()
            self.woken = False
            ev.callbacks.append(self._woken_idle)
            if self.keep_alive_s is not None and self.loaded:
                expiry = self.env.timeout(self.keep_alive_s)
                expiry.callbacks.append(lambda _e, idle=ev: self._expire(idle))
            return

    # -- capacity control (power down and up) ------------------------------------------------
    def _release_gpus(self) -> None:
        """Unload the weights and release the GPUs (no power drawn from now on)."""
        self.wake = None
        self.loaded = False
        self.cold_key_s = self.load_s
        if self.released_since is None:
            self.released_since = self.env.now

    def idle(self) -> bool:
        """Whether the replica waits for work: loaded, nothing queued for it that it could
        take, nothing in a batch (what a power-down prefers)."""
        return self.wake is not None and not self.running and not self.prefilling

    def power_down(self) -> None:
        """Take no new request from now on; finish those it holds, then release the GPUs
        (idle now: at once). Its own queue, if it has one, is served before."""
        if not self.powered:
            return
        self.powered = False
        ev = self.wake
        if ev is not None and not self.running and not self.prefilling and not ev.triggered:
            # idle: its wake-up event will never be triggered, nor its keep-alive act
            ev.callbacks = []
            self._release_gpus()

    def power_up(self) -> None:
        """Take requests again; a replica that released its GPUs loads its weights now
        (paying the load time, as a cold start does) instead of at the next request."""
        if self.powered:
            return
        self.powered = True
        if self.wake is None and self.released_since is not None and not self.running:
            now = self._t0 = self.env.now
            meter = self.dc.meter
            meter.loads[meter.epoch(now)] += 1
            meter.add_released(self.released_since, now, self.idle_w, self.n_gpus)
            self.released_since = None
            self.env.timeout(self.load_s).callbacks.append(self._loaded)

    def _woken_idle(self, _ev: simpy.Event) -> None:
        self.wake = None
        self._next()

    def _expire(self, idle: simpy.Event) -> None:
        """The keep-alive of the idle spell that began with ``idle`` ran out: if the replica
        has stayed idle since, it unloads its weights and releases its GPUs."""
        if self.wake is idle and not self.woken and self.loaded and not self.running:
            self.loaded = False
            self.released_since = self.env.now
            self.cold_key_s = self.load_s

    def _loaded(self, _ev: simpy.Event) -> None:
        now, t0 = self.env.now, self._t0
        for req in self.waiting:
            req.load_wait = now - max(t0, req.arrive_dc)
        self.loaded = True
        self.cold_key_s = 0.0
        self._next()

    def _admit(self) -> list[Request]:
        batch: list[Request] = []
        # chunked prefill splits prompts across iterations, so only batch slots and KV limit it
        budget = float("inf") if self.chunked else self.max_prefill_tokens
        busy = len(self.running) + len(self.prefilling)
        waiting = self.waiting
        while waiting and busy + len(batch) < self.max_batch:
            req = waiting[0]
            tokens = req.prompt + req.generated
            if self.kv_used + tokens + 1 > self.kv_admit_tokens or (batch and tokens > budget):
                break  # first-come first-served: no overtaking
            waiting.popleft()
            self.kv_used += tokens + 1
            budget -= tokens
            batch.append(req)
        return batch

    def _admit_prefilled(self) -> None:
        """Decode replicas: move requests whose KV cache has arrived into the running batch."""
        while self.waiting and len(self.running) < self.max_batch:
            req = self.waiting[0]
            if not self._fits(req):
                break  # first-come first-served: no overtaking
            self.waiting.popleft()
            self.kv_used += req.prompt + req.generated
            self._join(req)

    def _start_prefill(self, batch: list[Request]) -> None:
        t0 = self.env.now
        if len(batch) == 1:  # the common case at moderate load, without the generators
            r = batch[0]
            n = r.prompt + r.generated
            tokens = [n]
            total = float(n)
            compute, memory, fixed = self.perf.prefill_terms(total, float(n * n))
        else:
            tokens = [r.prompt + r.generated for r in batch]
            total = float(sum(tokens))
            compute, memory, fixed = self.perf.prefill_terms(
                total, float(sum([t * t for t in tokens]))
            )
        duration = (compute if compute > memory else memory) + fixed
        comm = self.perf.comm_time_s(total)
        self._prefill_w = self._it_w(
            iteration_activity(compute, memory, duration, self.power, 0.0, comm)
        )
        for r in batch:
            if r.prefill_start != r.prefill_start:  # NaN: not started yet (cheaper than np.isnan)
                r.prefill_start = t0
        self._t0, self._batch, self._tokens, self._total = t0, batch, tokens, total
        self.env.timeout(duration).callbacks.append(self._prefill_done)

    def _prefill_done(self, _ev: simpy.Event) -> None:
        t0, t1 = self._t0, self.env.now
        watts = self._prefill_w
        e = self._book(t0, t1, watts)
        energy = watts * (t1 - t0)
        embodied = self.embodied_kg_per_s * (t1 - t0)
        total = self._total
        for r, n in zip(self._batch, self._tokens, strict=True):
            self._charge(r, energy * n / total, e)
            r.embodied_kg += embodied * n / total
            self._prefilled(r, t1)
        self._batch = _NO_BATCH  # none in prefill now (what Replica.holding counts)
        self._next()

    def _prefilled(self, r: Request, t1: float) -> None:
        """A request's prefill ended at ``t1`` with its next token: it finishes, leaves for a
        decode replica (phase split) or joins this replica's running batch."""
        r.generated += 1
        if r.first_token != r.first_token:  # NaN: no token yet
            r.first_token = t1
        if r.generated >= r.output:
            self.kv_used -= r.prompt + r.generated
            self._finish(r, t1)
        elif self.role == "prefill":
            # the KV cache leaves for a decode replica; this replica's copy is freed
            self.kv_used -= r.prompt + r.generated
            self.dc.hand_off(r)
        else:
            self._join(r)

    def _start_hybrid(self) -> bool:
        """Start one chunked-prefill iteration (Sarathi-Serve, vLLM's default): every running
        request decodes one token and prompt chunks fill the rest of the ``max_prefill_tokens``
        budget. Returns False, having preempted a request, when the KV cache is full."""
        running = self.running
        b = len(running)
        if self.kv_capacity - self.kv_used < b:
            self._preempt()
            return False
        left = max(1, self.max_prefill_tokens - b)  # every iteration advances a prompt
        chunks: list[tuple[Request, int]] = []
        for r in self.prefilling:
            c = min(r.prompt + r.generated - r.prefilled, left)
            if c <= 0:
                break
            chunks.append((r, c))
            left -= c
        n_chunk = float(sum(c for _, c in chunks))
        pairs = float(sum(c * (2 * r.prefilled + c) for r, c in chunks))
        chunk_ctx = float(sum(r.prefilled + c for r, c in chunks))
        decode_ctx = float(sum(r.prompt + r.generated for r in running))
        compute, memory, fixed = self.perf.hybrid_terms(b, decode_ctx, n_chunk, pairs, chunk_ctx)
        duration = (compute if compute > memory else memory) + fixed
        activity = iteration_activity(
            compute,
            memory,
            duration,
            self.power,
            self.perf.eff.per_request_overhead_s * b,
            self.perf.comm_time_s(b + n_chunk),
        )
        t0 = self.env.now
        for r, _ in chunks:
            if r.prefill_start != r.prefill_start:  # NaN: not started yet (cheaper than np.isnan)
                r.prefill_start = t0
        self._t0, self._chunks, self._hybrid_load = t0, chunks, (n_chunk, b, activity)
        self.env.timeout(duration).callbacks.append(self._hybrid_done)
        return True

    def _hybrid_done(self, _ev: simpy.Event) -> None:
        t0, t1 = self._t0, self.env.now
        n_chunk, b, activity = self._hybrid_load
        chunks = self._chunks
        watts = self._it_w(activity)
        e = self._book(t0, t1, watts)
        per_token = watts * (t1 - t0) / (n_chunk + b)
        embodied = self.embodied_kg_per_s * (t1 - t0) / (n_chunk + b)
        still = []
        for r in self.running:
            self._charge(r, per_token, e)
            r.embodied_kg += embodied
            r.generated += 1
            self.kv_used += 1
            if r.generated >= r.output:
                self._leave(r)
                self._finish(r, t1)
            else:
                still.append(r)
        self.running = still
        for r, c in chunks:
            self._charge(r, per_token * c, e)
            r.embodied_kg += embodied * c
            r.prefilled += c
            if r.prefilled < r.prompt + r.generated:
                continue
            self.prefilling.remove(r)
            r.prefilled = 0
            self._prefilled(r, t1)
        self._next()

    def _start_decode(self) -> bool:
        """Start a stretch of decode iterations of the running batch, up to its next change (a
        request finishing or the KV cache filling). Returns False, having preempted a request,
        when the KV cache cannot take the next iteration's tokens."""
        running = self.running
        b = len(running)
        free = self.kv_capacity - self.kv_used
        if free < b:
            self._preempt()
            return False
        k = free // b
        if b == 1:
            r = running[0]
            left = r.output - r.generated
        else:
            left = min([r.output - r.generated for r in running])
        if left < k:
            k = left
        lines = self.perf.decode_lines(b, float(self.kv_used))
        duration = sum_of_max_lines(*lines, k)
        self._t0, self._lines, self._k, self._duration = self.env.now, lines, k, duration
        ev = self.env.timeout(duration)
        if b < self.max_batch:
            # an arrival may cut the stretch short (wake_up): the timer is what we wait on
            self.wake, self.woken = ev, False
            ev.callbacks.append(self._decode_woken)
        else:
            ev.callbacks.append(self._decode_done)
        return True

    def _decode_woken(self, _ev: simpy.Event) -> None:
        self.wake = None
        elapsed = self.env.now - self._t0
        if elapsed < self._duration:  # a request arrived: stop after the iteration under way
            lines = self._lines
            k = max(1, iterations_to_cover(*lines, self._k, elapsed))
            duration = sum_of_max_lines(*lines, k)
            self._k, self._duration = k, duration
            if duration > elapsed:
                self.env.timeout(duration - elapsed).callbacks.append(self._decode_done)
                return
        self._decode_done(_ev)

    def _decode_done(self, _ev: simpy.Event) -> None:
        k, duration, lines = self._k, self._duration, self._lines
        t0 = self._t0
        t1 = t0 + duration
        running = self.running
        b = len(running)
        # the stretch's mean roofline terms: shares of its time spent computing and reading
        compute, memory = decode_stretch_terms(lines[0], lines[1], lines[2], lines[3], k)
        request = self.perf.eff.per_request_overhead_s * b * k
        comm = self.perf.comm_time_s(b, k)
        watts = self._it_w(iteration_activity(compute, memory, duration, self.power, request, comm))
        e = self._book(t0, t1, watts)
        per_member = watts * (t1 - t0) / b
        f = self.dc.factors
        s = self.share
        s[0] += per_member
        s[1] += per_member * f.carbon_kg_per_j[e]
        s[2] += per_member * f.water_l_per_j[e]
        s[3] += per_member * f.cost_usd_per_j[e]
        s[4] += self.embodied_kg_per_s * (t1 - t0) / b
        self.kv_used += k * b
        now = self.env.now
        if b == 1:  # the usual case at moderate load, without building a list
            r = running[0]
            r.generated += k
            if r.generated >= r.output:
                self._leave(r)
                self._finish(r, now)
                self.running = []
        else:
            still = []
            for r in running:
                r.generated += k
                if r.generated >= r.output:
                    self._leave(r)
                    self._finish(r, now)
                else:
                    still.append(r)
            self.running = still
        self._next()

    def _preempt(self) -> None:
        """Free the KV cache of the newest running request; it is recomputed later (on a
        decode replica: by a prefill replica, and its cache crosses the link again)."""
        victim = self.running.pop()
        self._leave(victim)
        victim.preemptions += 1
        victim.prefilled = 0
        if self.role == "decode":  # back to the LLM's prefill side, to be recomputed
            self.dc.queues[victim.model].push_front(victim)
        else:
            self.queue.push_front(victim)


class ReplicaWaiting(deque[Request]):
    """The waiting queue of one replica under a per-replica dispatch; it keeps the sum of its
    requests' ``prompt + generated`` tokens (what their admission will take of the KV cache),
    which ``least_kv`` dispatch reads. A queued request's ``generated`` does not change, so the
    sum stays exact. The shared queue is a plain deque and pays nothing for this."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = 0

    def append(self, req: Request, /) -> None:
        super().append(req)
        self.tokens += req.prompt + req.generated

    def appendleft(self, req: Request, /) -> None:
        super().appendleft(req)
        self.tokens += req.prompt + req.generated

    def popleft(self) -> Request:
        req = super().popleft()
        self.tokens -= req.prompt + req.generated
        return req


class PoolQueue:
    """The queue of one LLM in one datacenter, shared by all replicas serving it (``shared``
    dispatch), or the own queue of one replica (the other dispatches, fed by a
    :class:`Dispatcher`).

    An arriving request wakes the replica that can admit it and would serve it soonest (fewest
    running requests, weighted by iteration time); a sleeping replica starts a prefill at once, a
    decoding one after its current iteration. Otherwise the request waits, first come first
    served, until a replica frees batch slots or KV cache.
    """

    def __init__(self, waiting: deque[Request] | None = None) -> None:
        self.waiting: deque[Request] = deque() if waiting is None else waiting
        self.replicas: list[Replica] = []
        self.arrived = 0  # requests pushed so far (capacity control reads the rate)

    def push(self, req: Request, at_once: bool = True) -> None:
        """A request joins the queue (from an event callback: no replica is mid-decision, so
        the chosen one can take it at once, unless more requests come at this instant)."""
        self.arrived += 1
        self.waiting.append(req)
        self.notify(at_once=at_once)

    def push_front(self, req: Request) -> None:
        """A preempted request returns to the head of the queue (from a replica that is itself
        deciding: the replica woken, if any, decides by an event that fires now)."""
        self.waiting.appendleft(req)
        self.notify()

    def notify(self, at_once: bool = False) -> None:
        """Wake the best replica able to admit the queue's head now, if any: at once, or, when
        a replica that is itself deciding calls (a preemption), by an event that fires now."""
        if not self.waiting:
            return
        head = self.waiting[0]
        need = head.prompt + head.generated + 1
        best = None
        best_key = 0.0
        for rep in self.replicas:
            # waiting for work (and not already woken), a batch slot free and room in the KV
            # cache for the head (inline: this runs for every arrival)
            if (
                rep.wake is not None
                and not rep.woken
                and rep.powered
                and len(rep.running) + len(rep.prefilling) < rep.max_batch
                and rep.kv_used + need <= rep.kv_admit_tokens
            ):
                key = (len(rep.running) + 1) * rep.step_s + rep.cold_key_s
                if best is None or key < best_key:
                    best, best_key = rep, key
        if best is not None:
            if at_once:
                best.take_now()
            else:
                best.wake_up()


class Dispatcher:
    """Assigns each request of one LLM reaching a datacenter to one of its replicas on arrival;
    the request then waits in that replica's own queue, first come first served (vLLM's
    deployment of one engine per replica, each with its waiting queue, behind a router).

    - ``round_robin``: the replicas in turn, in the order they were built (the datacenter's
      pools in scenario order, the replicas of a pool in order): request ``i`` goes to replica
      ``i mod N``.
    - ``shortest_queue``: the replica holding the fewest requests, queued or in service
      (:meth:`Replica.holding`).
    - ``least_kv``: the replica with the least KV-cache demand, the tokens its cache holds plus
      those its queued requests' admission will take, as a share of its capacity
      (:meth:`Replica.kv_demand`); replicas of one pool have one capacity, so among them this
      is the least demand in tokens.

    Ties go to the replica built first; nothing is drawn at random. Only replicas whose KV
    cache can hold the whole request (``prompt + output`` tokens; ``prompt + generated + 1``
    for a prefill-only replica) are candidates, as long as one can. A request preempted on a
    decode replica (phase split) is dispatched again, to the head of the chosen replica's queue.
    """

    def __init__(self, policy: str) -> None:
        if policy not in DISPATCH_POLICIES or policy == "shared":
            raise ValueError(f"a dispatcher's policy is one of {DISPATCH_POLICIES[1:]}")
        self.policy = policy
        self.replicas: list[Replica] = []
        self.min_capacity = 0  # the smallest KV capacity among the replicas, tokens
        self._turn = 0  # round robin: the replica that takes the next request

    def new_queue(self) -> PoolQueue:
        """The own queue of a replica about to be built (see :meth:`add`)."""
        return PoolQueue(ReplicaWaiting())

    def add(self, rep: Replica) -> None:
        self.replicas.append(rep)
        self.min_capacity = min(r.kv_admit_tokens for r in self.replicas)

    def push(self, req: Request, at_once: bool = True) -> None:
        """A request arrives: it joins the queue of the replica chosen for it."""
        self._choose(req).queue.push(req, at_once)

    def push_front(self, req: Request) -> None:
        """A request preempted elsewhere: to the head of the chosen replica's queue."""
        self._choose(req).queue.push_front(req)

    def _choose(self, req: Request) -> Replica:
        reps = self.replicas
        ok: list[bool] | None = None  # None: every replica can hold the request
        whole = req.prompt + req.output
        if whole > self.min_capacity:
            head = req.prompt + req.generated + 1  # all a prefill-only replica holds of it
            ok = [r.kv_admit_tokens >= (head if r.role == "prefill" else whole) for r in reps]
            if not any(ok):
                ok = None  # none can: the datacenter drops it or it is recomputed, as shared
        if self.policy == "round_robin":
            n = len(reps)
            i = self._turn
            if ok is not None:
                while not ok[i]:
                    i = (i + 1) % n
            self._turn = (i + 1) % n
            return reps[i]
        by_count = self.policy == "shortest_queue"
        best = reps[0]
        best_key = math.inf
        for i, rep in enumerate(reps):
            if ok is not None and not ok[i]:
                continue
            key = rep.holding() if by_count else rep.kv_demand()
            if key < best_key:
                best, best_key = rep, key
        return best


def _queue_for(entries: dict[int, PoolQueue | Dispatcher], model: int, dispatch: str) -> PoolQueue:
    """The queue a new replica of ``model`` reads, from the LLM's entry in ``entries`` (created
    on first use): the shared queue itself, or a new own queue that the dispatcher feeds."""
    entry = entries.get(model)
    if entry is None:
        entry = entries[model] = PoolQueue() if dispatch == "shared" else Dispatcher(dispatch)
    have = "shared" if isinstance(entry, PoolQueue) else entry.policy
    if have != dispatch:
        raise ValueError(
            f"the replicas of one LLM in a datacenter have one dispatch, not {have} and {dispatch}"
        )
    return entry if isinstance(entry, PoolQueue) else entry.new_queue()


class Datacenter:
    """A datacenter: replicas by LLM, an energy meter and per-epoch impact factors."""

    def __init__(
        self, sim: Simulation, index: int, n_epochs: int, epoch_s: float, factors: ImpactFactors
    ) -> None:
        self.sim = sim
        self.index = index
        self.meter = Meter(n_epochs, epoch_s)
        self.factors = factors
        self.replicas_by_model: dict[int, list[Replica]] = {}
        # per LLM: its shared queue, or the dispatcher that feeds its replicas' own queues
        self.queues: dict[int, PoolQueue | Dispatcher] = {}
        self.decode_queues: dict[int, PoolQueue | Dispatcher] = {}
        self.max_kv_tokens: dict[int, int] = {}
        self.in_flight = 0  # requests routed here and not yet resolved
        # where a load-aware router reads in_flight / capacity (None: nobody reads it)
        self.load_out: npt.NDArray[np.float64] | None = None
        self.load_capacity = 1.0
        self.kv_bytes_per_token: dict[int, float] = {}
        self.kv_link_bytes_per_s = 25e9

    def request_left(self) -> None:
        """A request routed here finished or was dropped."""
        self.in_flight -= 1
        if self.load_out is not None:
            self.load_out[self.index] = self.in_flight / self.load_capacity

    def queue_for(self, model: int, dispatch: str = "shared") -> PoolQueue:
        """The queue a new replica of ``model`` in this datacenter reads: with ``shared``
        dispatch the LLM's one queue (created on first use), otherwise an own queue of the
        replica, fed by the LLM's :class:`Dispatcher`. Pass the replica to :meth:`add_replica`.

        Raises:
            ValueError: ``dispatch`` differs from that of the LLM's replicas built before.
        """
        return _queue_for(self.queues, model, dispatch)

    def decode_queue_for(self, model: int, dispatch: str = "shared") -> PoolQueue:
        """As :meth:`queue_for`, for ``model``'s decode-only replicas (phase-split serving)."""
        return _queue_for(self.decode_queues, model, dispatch)

    def add_replica(self, model: int, rep: Replica) -> None:
        self.replicas_by_model.setdefault(model, []).append(rep)
        rep.queue.replicas.append(rep)
        entry = (self.decode_queues if rep.role == "decode" else self.queues).get(model)
        if isinstance(entry, Dispatcher):
            entry.add(rep)
        self.kv_bytes_per_token[model] = float(rep.perf.model.kv_bytes_per_token)
        if rep.role != "prefill":  # the replicas that hold a request until it finishes
            self.max_kv_tokens[model] = max(self.max_kv_tokens.get(model, 0), rep.kv_admit_tokens)

    def hand_off(self, req: Request) -> None:
        """Send a prefilled request's KV cache over the datacenter link to the decode queue.

        Transfers do not contend: each takes ``tokens · kv_bytes / link bandwidth``.
        """
        tokens = req.prompt + req.generated
        delay = tokens * self.kv_bytes_per_token[req.model] / self.kv_link_bytes_per_s
        req.kv_transfer_s += delay
        ev = self.sim.env.timeout(delay)
        queue = self.decode_queues[req.model]
        ev.callbacks.append(lambda _e, r=req, q=queue: q.push(r))  # type: ignore[misc]

    def receive(self, req: Request, last_now: bool = True) -> None:
        """A request reaches the datacenter and joins its LLM's queue.

        A request whose prompt and output together exceed the KV cache of every replica here
        could never finish (it would be preempted forever) and is dropped at once.
        ``last_now`` is False when the caller delivers another request at this same instant:
        the replicas then decide once all of them are queued.
        """
        req.arrive_dc = self.sim.env.now
        if req.prompt + req.output > self.max_kv_tokens[req.model]:
            req.drop = "exceeds_kv_capacity"
            self.request_left()
            self.sim.resolve(req)
            return
        self.queues[req.model].push(req, last_now)


def _allowed_rows(policy: Any) -> list[list[bool]] | None:
    """``[origin][datacenter]`` whether the origin may be served there (data residency), as
    nested lists for the per-request check; None when nothing is restricted."""
    ctx = getattr(policy, "ctx", None)
    rows = getattr(ctx, "allowed_rows", None)
    return rows() if rows is not None else None


def _refuse(policy: Any, origin: int, d: int) -> None:
    """Stop the run: ``policy`` chose datacenter ``d`` for a request of an origin that may
    not be served there."""
    from slit.sim.policies import residency_violation

    raise residency_violation(policy, origin, d)


def _packed(*columns: npt.NDArray[Any]) -> tuple[array[Any], ...]:
    """The workload's columns as packed arrays: indexing one gives a plain Python number
    (indexing numpy once per request is slow) at 8 bytes a value (a list of Python numbers
    takes 30 to 40)."""
    return tuple(_array_of(c, "d") if c.dtype.kind == "f" else _array_of(c, "q") for c in columns)


def _array_of(values: npt.NDArray[Any], typecode: str) -> array[Any]:
    """A packed ``array`` of ``values`` (``d``: float64, ``q``: int64), copied as bytes."""
    out = array(typecode)
    out.frombytes(np.asarray(values, dtype=np.float64 if typecode == "d" else np.int64).tobytes())
    return out


class Simulation:
    """Owns the SimPy environment, the datacenters and the requests of one run.

    A request is an object while it is in flight (``live``) and a row of ``log`` once it is
    resolved; :meth:`close` logs the rest at the end, so the log then holds every released
    request exactly once.
    """

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.released = 0  # requests that arrive before the end (their ids are 0 .. released - 1)
        self.datacenters: list[Datacenter] = []
        self.live: dict[int, Request] = {}
        self.log = RequestLog()
        # routed up front, not yet delivered (load-free policies): ids, datacenters, and the
        # position in the delivery order reached
        self._due_order = array("q")
        self._due_rid = array("q")
        self._due_dc = array("q")
        self._delivered = 0
        self._inputs: tuple[Any, ...] = ()
        self._transfer_s_per_token = 0.0
        # the order requests leave their origins in (arrival order, or release order with
        # deferrable requests) and how far the routing got along it
        self._release_order: Any = array("q")
        self._routed = 0

    def resolve(self, req: Request) -> None:
        """``req`` finished or was dropped: its outcome goes to the log, the object away."""
        del self.live[req.rid]
        self.log.add(req)

    def close(self) -> None:
        """Log every request not resolved by the end of the run: in flight, in transit, or
        routed and not yet delivered (charge the running ones first: ``Replica.settle``)."""
        for rid in sorted(self.live):
            self.log.add(self.live[rid])
        self.live.clear()
        for j in self._due_order[self._delivered :]:
            self.log.add(self._make_request(self._due_rid[j], self._due_dc[j]))
        # requests that never left their origin (a deferred one whose release came after the
        # end of the run)
        for i in self._release_order[self._routed :]:
            self.log.add(self._make_request(i, -1))
        self._release_order = array("q")
        # the run's copies of the workload are no longer needed: free them before the records
        self._due_order, self._due_rid, self._due_dc = array("q"), array("q"), array("q")
        self._inputs = ()

    def _make_request(self, i: int, d: int) -> Request:
        """Request ``i`` of the workload, routed to datacenter ``d`` (``-1``: not routed)."""
        times, origins, models, prompts, outputs, rtts = self._inputs
        req = Request(i, origins[i], models[i], prompts[i], outputs[i], times[i])
        if d >= 0:
            req.dc = d
            req.rtt_s = rtts[req.origin][d]
            req.transfer_s = req.prompt * self._transfer_s_per_token
        return req

    def arrivals(
        self,
        arrival_s: npt.NDArray[np.float64],
        origin: npt.NDArray[np.int64],
        model: npt.NDArray[np.int64],
        prompt: npt.NDArray[np.int64],
        output: npt.NDArray[np.int64],
        policy: Any,
        rtt_s: npt.NDArray[np.float64],
        transfer_s_per_token: float,
        until_s: float = math.inf,
        release_s: npt.NDArray[np.float64] | None = None,
        datacenter: npt.NDArray[np.int64] | None = None,
    ) -> Any:
        """Process: release requests at their arrival times and route them.

        A policy that does not read the datacenters' load (``uses_load`` False) decides from
        the request alone, so every request is routed before the run, in arrival order (the
        policy sees the same calls in the same order); the process then only delivers each
        request at the end of its network delay: one event per request instead of two.
        ``until_s`` is the end of the run, after which no request is released.

        With deferrable requests, ``release_s`` is when each request leaves its origin (its
        arrival, or later for a deferred one) and ``datacenter`` the datacenter a deferral
        policy chose for it (-1: the routing policy's choice); requests are then routed in
        release order, at their release times, and every request that arrived before
        ``until_s`` is recorded, also one still held at its origin when the run ends.
        """
        # plain Python numbers: indexing numpy arrays once per request is slow
        self._inputs = (*_packed(arrival_s, origin, model, prompt, output), rtt_s.tolist())
        self._transfer_s_per_token = transfer_s_per_token
        # every request that arrives before the end is recorded, routed or not
        n = int(np.searchsorted(arrival_s, until_s, side="left"))
        self.released = n
        forced: Any = array("q", [-1]) * n  # no deferral policy chose a datacenter
        if release_s is None:
            # each request leaves as it arrives: routed in arrival order
            when: Any = self._inputs[0]
            order: Any = range(n)
        else:
            when = _array_of(release_s[:n], "d")
            # in release order; equal times in arrival order
            order = _array_of(np.argsort(release_s[:n], kind="stable"), "q")
            if datacenter is not None:
                forced = _array_of(datacenter[:n], "q")
        self._release_order = order
        if getattr(policy, "uses_load", True):
            yield from self._route_live(policy, when, order, forced)
        else:
            yield from self._route_up_front(policy, until_s, when, order, forced)

    def _serves(self) -> set[int]:
        """The LLMs some datacenter serves."""
        return set().union(*(dc.replicas_by_model for dc in self.datacenters))

    def _unserved(self, i: int) -> None:
        """Request ``i`` asks for an LLM no datacenter serves: dropped as it arrives."""
        req = self._make_request(i, -1)
        req.drop = "no_datacenter_serves_model"
        self.live[i] = req
        self.resolve(req)

    def _route_live(self, policy: Any, when: Any, order: Any, forced: Any) -> Any:
        """Route each request when it leaves its origin (``when[i]``, in ``order``), with the
        load of that moment; it reaches its datacenter after its network delay (two events
        per request). ``forced[i]`` is the datacenter a deferral policy chose (-1: the routing
        policy chooses)."""
        env = self.env
        dcs = self.datacenters
        # the load the policy reads, requests in flight per replica, kept up to date as they
        # change (what recomputing it for every arrival would give, at two updates a request)
        load = np.zeros(len(dcs))
        caps = np.maximum(policy.ctx.capacity, 1.0).tolist()  # replicas per datacenter
        for d, dc in enumerate(dcs):
            dc.load_out, dc.load_capacity = load, caps[d]
            load[d] = dc.in_flight / caps[d]
        shown = load.view()  # the policy's read-only view of the live array
        shown.flags.writeable = False
        any_serves = self._serves()
        allowed = _allowed_rows(policy)  # data residency: None when nothing is restricted
        origins, models = self._inputs[1:3]
        live = self.live
        for pos in range(len(order)):
            i = order[pos]
            t = when[i]
            if t > env.now:
                yield env.timeout(t - env.now)
            self._routed = pos + 1
            if models[i] not in any_serves:
                self._unserved(i)
                continue
            d = forced[i]
            if d < 0:
                d = policy.choose(origins[i], models[i], t, shown)
            if allowed is not None and not allowed[origins[i]][d]:
                _refuse(policy, origins[i], d)
            req = live[i] = self._make_request(i, d)
            dc = dcs[d]
            dc.in_flight += 1
            load[d] = dc.in_flight / caps[d]
            dc.meter.arrivals[dc.meter.epoch(t)] += 1
            ev = env.timeout(req.rtt_s / 2.0 + req.transfer_s)
            ev.callbacks.append(lambda _e, r=req, c=dc: c.receive(r))  # type: ignore[misc]

    def _route_up_front(
        self, policy: Any, until_s: float, when: Any, order: Any, forced: Any
    ) -> Any:
        """Route every request now, in ``order``, and deliver each to its datacenter at the
        time it leaves its origin (``when[i]``) plus its network delay. Times are the ones
        :meth:`_route_live` gives, to the last bit; a request leaving at or after ``until_s``
        is never routed (it stays at its origin)."""
        dcs = self.datacenters
        any_serves = self._serves()
        allowed = _allowed_rows(policy)  # data residency: None when nothing is restricted
        load = np.zeros(len(dcs))  # what these policies are handed, and do not read
        load.flags.writeable = False
        _, origins, models, prompts, _, rtts = self._inputs
        transfer_s_per_token = self._transfer_s_per_token
        due = array("d")
        due_rid = self._due_rid
        due_dc = self._due_dc
        now = self.env.now
        for pos in range(len(order)):
            i = order[pos]
            t = when[i]
            if t > now:
                # the clock of a process that slept from `now` until t, with its rounding
                now = now + (t - now)
                if now >= until_s:
                    break  # the run ends before this one leaves
            self._routed = pos + 1
            o, m = origins[i], models[i]
            if m not in any_serves:
                self._unserved(i)
                continue
            d = forced[i]
            if d < 0:
                d = policy.choose(o, m, t, load)
            if allowed is not None and not allowed[o][d]:
                _refuse(policy, o, d)
            meter = dcs[d].meter
            meter.arrivals[meter.epoch(t)] += 1
            due.append(now + (rtts[o][d] / 2.0 + prompts[i] * transfer_s_per_token))
            due_rid.append(i)
            due_dc.append(d)
        yield from self._deliver_due(due)

    def _deliver_due(self, due: array[float]) -> Any:
        """Deliver the requests routed up front (``self._due_rid``, ``self._due_dc``) to their
        datacenters at the times ``due``."""
        env = self.env
        dcs = self.datacenters
        due_rid = self._due_rid
        due_dc = self._due_dc
        # in time order; equal times in arrival order, as their events would have fired
        order = _array_of(np.argsort(np.frombuffer(due, dtype=np.float64), kind="stable"), "q")
        self._due_order = order
        live = self.live
        n_due = len(order)
        for n in range(n_due):
            j = order[n]
            at = due[j]
            now = env.now
            while at > now:
                # `at` to the bit: the subtraction may round, and the sum too (to even, which
                # can skip `at` altogether), so never overshoot; from a landing just short of
                # `at` the difference is exact (Sterbenz) and a second step lands on it
                delay = at - now
                while now + delay > at:
                    delay = math.nextafter(delay, -math.inf)
                yield env.timeout(delay)
                now = env.now
            self._delivered = n + 1
            req = live[due_rid[j]] = self._make_request(due_rid[j], due_dc[j])
            dc = dcs[req.dc]
            dc.in_flight += 1
            # requests delivered at the same instant are all queued before a replica decides
            dc.receive(req, n + 1 == n_due or due[order[n + 1]] != at)

    def ticker(self, every_s: float, until_s: float, callback: Callable[[float], None]) -> Any:
        """Process: call ``callback(now)`` every ``every_s`` simulated seconds."""
        while self.env.now < until_s:
            yield self.env.timeout(min(every_s, until_s - self.env.now))
            callback(self.env.now)
