"""A discrete-event simulation of a serving fleet, to check the analytical queueing maths of
``planner.model.fleet`` (never on the dashboard's rerun path).

SimPy (Müller & Vignaux, simpy.readthedocs.io) runs one process per replica: an engine loop
that admits waiting requests into free slots (at most ``replica_concurrency``), then runs one
step in which every decoding sequence makes a token and waiting prompts are taken in chunks
of the step's token budget (``prefill_chunk_tokens`` less the decodes: Sarathi-Serve), for
the step time of ``planner.model.batching`` at that step's actual sequences and contexts. A
request arriving when some replica has a free slot goes to the one with the fewest requests
(join-shortest-queue); otherwise it waits in one pooled FIFO queue for the first free slot.
Arrivals are Poisson at the scenario's rate with its token lengths, or a recorded trace (CSV
with ``arrival_s,prompt_tokens,output_tokens``).
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planner.errors import ScenarioError
from planner.model import batching

TRACE_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")
MAX_TRACE_ROWS = 1_000_000


@dataclass(frozen=True)
class Request:
    """One request: when it arrives [s] and its prompt and output lengths [tokens]."""

    arrival_s: float
    prompt_tokens: int
    output_tokens: int


def poisson_requests(rate_per_s: float, count: int, prompt_tokens: float,
                     output_tokens: float, seed: int = 0) -> list[Request]:
    """``count`` requests with exponential gaps at ``rate_per_s`` and fixed token lengths."""
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_per_s, size=count)
    return [Request(float(t), int(prompt_tokens), int(output_tokens)) for t in np.cumsum(gaps)]


def load_trace(path: Path | str) -> list[Request]:
    """A recorded trace: CSV with arrival_s, prompt_tokens, output_tokens (header row).

    ScenarioError (one line naming the file and the row) where the file cannot be read, a
    column is missing, a value is not a finite number of the right sign, arrivals go back in
    time, or there are no rows.
    """
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in TRACE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ScenarioError(f"{p}: trace needs the columns {', '.join(TRACE_COLUMNS)}; "
                                    f"missing {', '.join(missing)}")
            out: list[Request] = []
            last = -np.inf
            for i, row in enumerate(reader, start=2):
                if len(out) >= MAX_TRACE_ROWS:
                    raise ScenarioError(f"{p}: more than {MAX_TRACE_ROWS:,} rows")
                try:
                    t, pr, o = (float(row[c]) for c in TRACE_COLUMNS)
                except (TypeError, ValueError):
                    raise ScenarioError(f"{p}: row {i}: arrival_s, prompt_tokens and "
                                        "output_tokens must be numbers") from None
                if not (np.isfinite(t) and t >= 0 and pr >= 0 and o >= 1 and t >= last
                        and np.isfinite(pr) and np.isfinite(o)):
                    raise ScenarioError(f"{p}: row {i}: need arrival_s ≥ 0 and not before the "
                                        "previous row, prompt_tokens ≥ 0, output_tokens ≥ 1")
                last = t
                out.append(Request(t, int(pr), int(o)))
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{p}: not UTF-8 text; a trace is a CSV file") from None
    if not out:
        raise ScenarioError(f"{p}: the trace has no rows")
    return out


@dataclass(frozen=True)
class StepModel:
    """``batching.step_time_s`` of one replica as coefficients of (decode sequences, prompt
    tokens, context tokens), exact because each part is linear in them (the experts' share
    is a min of two lines), so a step costs a few float operations."""

    overhead_s: float
    memory: tuple[tuple[float, float, float, float], tuple[float, float, float, float]]
    compute: tuple[float, float, float, float]
    communication: tuple[float, float, float, float]

    @classmethod
    def from_row(cls, c: Mapping[str, float]) -> StepModel:
        """Coefficients from the step model at the origin and unit points."""
        pts = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        row = {k: np.asarray(v, dtype=float) for k, v in c.items()}
        parts = batching.step_parts_s(row, pts[:, 0], pts[:, 1], pts[:, 2])
        full = batching.step_parts_s(row, pts[:, 0], pts[:, 1], pts[:, 2], all_experts=True)

        def coef(v):
            v = np.broadcast_to(np.asarray(v, dtype=float), (4,))
            return (float(v[0]), float(v[1] - v[0]), float(v[2] - v[0]), float(v[3] - v[0]))

        return cls(float(row["engine_overhead_s_per_step"]),
                   (coef(parts["memory_s"]), coef(full["memory_s"])),
                   coef(parts["compute_s"]), coef(parts["communication_s"]))

    def step_s(self, decode: float, prefill: float, context: float) -> float:
        """Seconds of one step with those sequences and tokens."""
        def line(k):
            return k[0] + k[1] * decode + k[2] * prefill + k[3] * context
        memory = min(line(self.memory[0]), line(self.memory[1]))
        return self.overhead_s + max(memory, line(self.compute)) + line(self.communication)


@dataclass
class _Seq:
    req: Request
    prefilled: int = 0
    generated: int = 0
    first_token_s: float = float("nan")


@dataclass
class _Replica:
    active: list[_Seq] = field(default_factory=list)
    wake: object = None


def simulate(c: Mapping[str, float], replicas: int, requests: list[Request], *,
             network_rtt_s: float = 0.0, warmup_share: float = 0.1) -> dict[str, float]:
    """p50/p95 end-to-end latency, TTFT and TPOT (and mean active sequences per replica) of
    ``replicas`` replicas of the grid row ``c`` serving ``requests``; the first
    ``warmup_share`` of requests is left out of the percentiles."""
    import simpy  # the check alone needs it; the planner's rerun path never imports it

    if replicas < 1 or not requests:
        raise ScenarioError("simulation: needs at least one replica and one request")
    model = StepModel.from_row(c)
    cap = int(c["replica_concurrency"])
    chunk = float(c["prefill_chunk_tokens"])
    env = simpy.Environment()
    pool: deque[_Seq] = deque()
    fleet = [_Replica() for _ in range(replicas)]
    done: list[tuple[Request, float, float]] = []
    area = [0.0]

    def admit(r: _Replica) -> None:
        while pool and len(r.active) < cap:
            r.active.append(pool.popleft())

    def engine(r: _Replica):
        while True:
            admit(r)
            if not r.active:
                r.wake = env.event()
                yield r.wake
                continue
            decoders = [s for s in r.active if s.prefilled >= s.req.prompt_tokens]
            budget = max(chunk - len(decoders), 0.0)
            takes: list[tuple[_Seq, int]] = []
            for s in r.active:
                if s.prefilled < s.req.prompt_tokens and budget > 0:
                    take = int(min(s.req.prompt_tokens - s.prefilled, budget))
                    takes.append((s, take))
                    budget -= take
            context = sum(s.req.prompt_tokens + s.generated for s in decoders) + sum(
                s.prefilled + t / 2.0 for s, t in takes)
            dt = model.step_s(len(decoders), sum(t for _, t in takes), context)
            area[0] += len(r.active) * dt
            yield env.timeout(dt)
            for s in decoders:
                s.generated += 1
            for s, t in takes:
                s.prefilled += t
                if s.prefilled >= s.req.prompt_tokens:
                    s.generated, s.first_token_s = 1, env.now
            for s in [s for s in r.active if s.generated >= s.req.output_tokens]:
                r.active.remove(s)
                done.append((s.req, s.first_token_s, env.now))

    def arrivals():
        for req in requests:
            yield env.timeout(max(req.arrival_s - env.now, 0.0))
            seq = _Seq(req)
            if req.prompt_tokens == 0:
                seq.first_token_s = env.now
            free = [r for r in fleet if len(r.active) < cap]
            if free:
                r = min(free, key=lambda x: len(x.active))
                r.active.append(seq)
                if r.wake is not None and not r.wake.triggered:
                    r.wake.succeed()
            else:
                pool.append(seq)

    for r in fleet:
        env.process(engine(r))
    env.process(arrivals())
    env.run(until=env.process(_all_done(env, done, len(requests))))
    return _summary(done, int(len(requests) * warmup_share), network_rtt_s,
                    area[0] / (replicas * env.now))


def _all_done(env, done, total):
    while len(done) < total:
        yield env.timeout(1.0)


def _summary(done, skip, rtt, mean_active):
    kept = sorted(done, key=lambda d: d[0].arrival_s)[skip:]
    e2e = np.array([end - req.arrival_s for req, _, end in kept]) + rtt
    ttft = np.array([first - req.arrival_s for req, first, _ in kept]) + rtt
    tpot = np.array([(end - first) / max(req.output_tokens - 1, 1) for req, first, end in kept])
    return {"requests": float(len(kept)), "mean_active_per_replica": float(mean_active),
            **{f"{name}_{q}_s": float(np.percentile(v, p)) for name, v in
               (("latency", e2e), ("ttft", ttft), ("tpot", tpot)) for q, p in
               (("p50", 50), ("p95", 95))}}
