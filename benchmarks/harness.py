"""Measurement: agreement check, warm-up, interleaved timing, memory floor, subprocess probes."""
from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .peers import Peer, PoolkitPeer, Prepared, Unsupported
from .rows import Row, make_inputs

REPO_ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------- registry
def load_registry() -> tuple[Any, str]:
    """The shared op registry module ``tests.registry`` (with ``OPS``), or ``(None, reason)``."""
    if not (REPO_ROOT / "tests" / "registry.py").exists():
        return None, "tests/registry.py not found"
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        mod = importlib.import_module("tests.registry")
    except Exception as exc:  # the registry is someone else's file: report, don't crash
        return None, f"tests/registry.py failed to import: {exc!r}"
    if not isinstance(getattr(mod, "OPS", None), dict):
        return None, "tests/registry.py has no OPS dict"
    return mod, ""


def _entry_attr(entry: Any, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


# --------------------------------------------------------------------- comparison
def tolerance(row: Row) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing a peer with poolkit on ``row``."""
    if row.reduction == "max" and not row.backward:
        return 0.0, 0.0  # a max is a selection: exact
    dt = np.dtype(row.out_dtype)
    if dt == np.float16:
        return 1e-2, 1e-2
    if dt == np.float64 and np.dtype(row.dtype).kind == "f":
        return 1e-10, 1e-12
    return 1e-4, 1e-5


def compare(row: Row, got: np.ndarray, want: np.ndarray) -> tuple[bool, str, float]:
    """Whether ``got`` agrees with ``want``; a short reason; the max abs difference."""
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return False, f"shape {got.shape} != {want.shape}", float("nan")
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    diff = np.where(both_nan, 0.0, np.abs(g - w))
    err = float(np.max(diff)) if diff.size else 0.0
    rtol, atol = tolerance(row)
    ok = bool(np.all(diff <= atol + rtol * np.abs(w)) and not np.any(np.isnan(diff)))
    return ok, ("" if ok else f"max abs diff {err:.3g} (rtol={rtol}, atol={atol})"), err


# --------------------------------------------------------------------- machine
def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def machine_info(peers: list[Peer]) -> dict[str, Any]:
    """CPU model, cores, memory, OS, versions, git commit."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("numba", "poolkit", "onnx"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:
            versions[mod] = "absent"
    for p in peers:
        if p.name not in versions and p.name != "poolkit":
            try:
                versions[p.module] = p.version()
            except Exception as exc:
                versions[p.module] = f"? ({exc.__class__.__name__})"
    commit = ""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += " (+ uncommitted changes in src/)"
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(), "threads_used": _threads(), "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}", "versions": versions, "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def load_average() -> tuple[float, float, float] | None:
    """1/5/15-minute load average (a noise indicator), None where unknown."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return None


# --------------------------------------------------------------------- memory floor
def copy_bandwidth(nbytes: int, repeat: int = 15) -> dict[str, float]:
    """Copy bandwidth in bytes moved (read + written) per second, best of 1 and all threads.

    A copy of ``n`` bytes reads ``n`` and writes ``n``; the result is ``2 n / t``
    with ``t`` the median time, so the memory floor of an op moving ``b`` bytes
    is ``b / bandwidth`` (the time a copy of ``b / 2`` bytes takes).
    """
    n = max(nbytes // 8, 1)
    src = np.random.default_rng(0).random(n)
    dst = np.empty_like(src)
    nt = _threads()
    bounds = np.linspace(0, n, nt + 1).astype(int)
    chunks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]

    def single():
        np.copyto(dst, src)

    with ThreadPoolExecutor(nt) as ex:
        def threaded():
            list(ex.map(lambda s: np.copyto(dst[s], src[s]), chunks))

        out = {}
        for name, fn in (("single_thread", single), ("all_threads", threaded)):
            fn()
            fn()
            ts = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            out[name] = 2 * src.nbytes / float(np.median(ts))
    out["bytes"] = float(src.nbytes)
    out["bandwidth"] = max(out["single_thread"], out["all_threads"])
    out["samples"] = [out["bandwidth"]]
    return out


def merge_bandwidth(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Best of two :func:`copy_bandwidth` measurements (the floor is a lower bound), samples kept."""
    best = dict(max(a, b, key=lambda d: d["bandwidth"]))
    best["samples"] = list(a["samples"]) + list(b["samples"])
    return best


# --------------------------------------------------------------------- one row
def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{exc.__class__.__name__}: {first}"[:160]


def reference_check(row: Row, registry: Any, seed: int = 1) -> tuple[str, str]:
    """Check poolkit against the registry's slow loop reference on the toy-size input of ``row``.

    Forward rows go through ``registry.check_op`` (the test-suite's own assertion);
    backward rows compare ``pk.grad`` with ``entry.reference_grad`` at the registry's
    tolerance. Returns ``(status, reason)``.
    """
    entry = registry.OPS.get(row.op)
    if entry is None:
        return "error", f"op {row.op!r} is not in tests/registry.py OPS"
    x, dy = make_inputs(row, quick=True, seed=seed)
    args, kw = row.call_args()
    try:
        if not row.backward:
            registry.check_op(entry, x, *args, **kw)
            return "ok", ""
        ref_grad = _entry_attr(entry, "reference_grad")
        if ref_grad is None:
            return "skipped", "registry has no reference_grad"
        import poolkit

        if not hasattr(poolkit, "grad"):
            return "skipped", "poolkit.grad not available"
        want = np.asarray(ref_grad(x, dy, *args, **kw))
        got = np.asarray(poolkit.grad(entry.func, x, dy, *args, **kw))
        rtol, atol = registry.tolerance(got.dtype)
        ok = got.shape == want.shape and np.allclose(got.astype(np.float64), want, rtol=rtol, atol=atol)
        return ("ok", "") if ok else ("mismatch", "pk.grad differs from reference_grad")
    except AssertionError as exc:
        return "mismatch", str(exc).strip().splitlines()[0][:200]
    except Exception as exc:
        return "error", _short(exc)


def _warm_up(prep: Prepared, seconds: float) -> None:
    """Discarded calls of ``prep`` for at least ``seconds`` (at least one call)."""
    end = time.perf_counter() + seconds
    prep.run()
    while time.perf_counter() < end:
        prep.run()


def measure_row(row: Row, peers: list[Peer], *, quick: bool, repeat: int, cell_budget: float,
                bandwidth: float, registry: Any, log: Callable[[str], None] = print,
                pause: float = 0.05, warm: float = 0.05) -> dict:
    """Check agreement, warm up and time every peer on ``row``; returns the row's record."""
    rec: dict[str, Any] = {
        "id": row.id, "title": row.title, "op": row.op, "layout": row.layout, "dtype": row.dtype,
        "backward": row.backward, "shape": list(row.input_shape(quick)),
        "out_shape": list(row.output_shape(quick)), "bytes": row.nbytes(quick),
        "floor_s": row.nbytes(quick) / bandwidth, "peers": {},
    }
    # --- registry: the op must be registered; poolkit must match the slow reference
    if registry is not None:
        st, why = reference_check(row, registry)
        rec["reference"] = {"status": st, "reason": why}
    else:
        rec["reference"] = {"status": "skipped", "reason": "no registry"}

    x, dy = make_inputs(row, quick)
    prepared: dict[str, Prepared] = {}
    outputs: dict[str, np.ndarray] = {}
    for peer in peers:
        cell: dict[str, Any] = {"status": "ok", "reason": "", "note": ""}
        if peer.gpu:
            cell["gpu"] = True
        rec["peers"][peer.name] = cell
        try:
            prep = peer.prepare(row, x, dy, quick)
            cell["note"] = prep.note
            t0 = time.perf_counter()
            res = prep.run()
            cell["first_call_s"] = (time.perf_counter() - t0) / prep.calls
            outputs[peer.name] = np.asarray(prep.to_numpy(res))
            del res
            prepared[peer.name] = prep
        except Unsupported as exc:
            cell.update(status="n/a", reason=str(exc))
        except Exception as exc:  # a peer without a kernel for this dtype etc.
            cell.update(status="n/a", reason=_short(exc))

    # --- agreement: everyone against poolkit (or, if poolkit failed, the first peer that ran)
    pk_cell = rec["peers"].get("poolkit")
    if "poolkit" in outputs:
        ref_name = "poolkit"
        want = outputs["poolkit"]
        problems = []
        # shape and dtype from the contract, independently of poolkit
        want_shape = tuple(rec["shape"]) if row.backward else tuple(rec["out_shape"])
        want_dtype = np.dtype(row.dtype if row.backward else row.out_dtype)
        if tuple(want.shape) != want_shape:
            problems.append(f"shape {want.shape}, expected {want_shape}")
        if want.dtype != want_dtype:
            problems.append(f"dtype {want.dtype}, expected {want_dtype}")
        if problems:
            pk_cell.update(status="mismatch", reason="; ".join(problems))
            prepared.pop("poolkit", None)
    else:
        ref_name = next(iter(outputs), None)
        if pk_cell is not None and pk_cell["status"] == "n/a" and "vjp" in pk_cell["reason"]:
            rec["skipped"] = pk_cell["reason"]
            return rec
        want = outputs.get(ref_name) if ref_name else None
    rec["agreement_reference"] = ref_name
    for name, got in outputs.items():
        if name == ref_name:
            continue
        ok, why, err = compare(row, got, want)
        rec["peers"][name]["max_abs_diff"] = err
        if not ok:
            rec["peers"][name].update(status="mismatch", reason=why)
            prepared.pop(name, None)
            log(f"  MISMATCH {row.id} {name} vs {ref_name}: {why}")
    outputs.clear()

    # --- timing. Peers run in blocks of back-to-back calls, the blocks interleaved over a few
    # rounds (background noise is then shared out), with a pause before each block, so that
    # thread pools of the previous peer (OpenMP spin-waits) park first, and then discarded
    # calls for ``warm`` seconds: after a pause the machine takes milliseconds to wake the
    # peer's own pool (on a 2-core VM, a trivial parallel Numba or PyTorch call took 3-5 ms
    # after 50 ms of sleep, and the next one still 0.4-4 ms), which one discarded call did not
    # absorb. 10 ms of discarded calls did not either: a 2.4 ms call (max 3x3/2 NHWC) still
    # took 2.9 ms in the 8 calls after them and 2.4-2.5 ms after 50 ms of them.
    est = {}
    for name, prep in prepared.items():
        t0 = time.perf_counter()
        prep.run()
        est[name] = time.perf_counter() - t0
    counts = {n: int(min(repeat, max(1 if quick else 3, cell_budget / max(t, 1e-9)))) for n, t in est.items()}
    times: dict[str, list[float]] = {n: [] for n in prepared}
    slow = {n: t > 0.1 for n, t in est.items()}  # slow calls: one block, no discarded call
    n_rounds = 1 if quick else 3
    gc.collect()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(n_rounds):
            for name, prep in prepared.items():
                block = counts[name] if slow[name] else -(-counts[name] // n_rounds)
                if r * block >= counts[name]:
                    continue
                if not slow[name]:
                    time.sleep(pause)
                    _warm_up(prep, warm)
                for _ in range(min(block, counts[name] - r * block)):
                    t0 = time.perf_counter()
                    res = prep.run()
                    times[name].append(time.perf_counter() - t0)
                    del res
    finally:
        if gc_was:
            gc.enable()
    for name, ts in times.items():
        cell = rec["peers"][name]
        ts = [t / prepared[name].calls for t in ts]
        cell["median_s"] = float(np.median(ts))
        cell["min_s"] = float(np.min(ts))
        cell["runs"] = len(ts)
    prepared.clear()
    return rec


def summarize(rec: dict) -> None:
    """Add best peer and poolkit's ratios to ``rec`` in place.

    GPU peers (``--gpu``) are not CPU rivals: the best of them is kept apart, with its own ratio
    to the GPU floor (``gpu_floor_s``, set when the run measured a GPU copy bandwidth)."""
    pk = rec["peers"].get("poolkit", {})
    timed = {n: c["median_s"] for n, c in rec["peers"].items() if n != "poolkit" and "median_s" in c}
    others = {n: t for n, t in timed.items() if not rec["peers"][n].get("gpu")}
    gpus = {n: t for n, t in timed.items() if rec["peers"][n].get("gpu")}
    if gpus:
        best = min(gpus, key=gpus.get)
        rec["best_gpu_peer"], rec["best_gpu_s"] = best, gpus[best]
        if rec.get("gpu_floor_s"):
            rec["ratio_gpu_floor"] = gpus[best] / rec["gpu_floor_s"]
    if others:
        best = min(others, key=others.get)
        rec["best_peer"], rec["best_peer_s"] = best, others[best]
    if "median_s" in pk:
        rec["ratio_floor"] = pk["median_s"] / rec["floor_s"]
        if others:
            rec["ratio_best"] = pk["median_s"] / rec["best_peer_s"]


# --------------------------------------------------------------------- subprocess probes
def _probe(args: list[str], env: dict[str, str], timeout: float) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.probe", *args]
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), full_env.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
    return {"error": f"probe exited {proc.returncode}: {tail[0][:200]}"}


#: glibc: serve big blocks with mmap and give them back at free, so RSS tracks live memory
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def memory_probe(peer: Peer, rows: list[Row], quick: bool, timeout: float = 300) -> dict:
    """Peak extra resident memory of one call, per row, measured in a fresh process for ``peer``."""
    ids = ",".join(r.id for r in rows)
    args = ["memory", "--peer", peer.name, "--rows", ids] + (["--quick"] if quick else [])
    return _probe(args, MALLOC_ENV, timeout)


def latency_probe(row: Row, quick: bool, timeout: float = 300) -> dict:
    """poolkit's first-call latency in fresh processes: empty Numba cache, then warm cache."""
    args = ["latency", "--row", row.id] + (["--quick"] if quick else [])
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = _probe(args, env, timeout)
        warm = _probe(args, env, timeout)
    return {"cold": cold, "warm_cache": warm}
