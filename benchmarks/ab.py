"""Same-process A/B of poolkit's kernels: ``python -m benchmarks.ab REV [--rows PATTERN] ...``.

Times the kernels of this checkout against those of git revision REV (or of a kernel file
given with ``--old-file``) on the benchmark's rows, in one process, alternating: on a shared
machine whose speed drifts by tens of percent within minutes, two separate benchmark runs
cannot show a change of a few percent, but blocks of calls of the two kernels taken in turn can.

How: REV's ``src/poolkit/_kernels.py`` is loaded as a second module (compiled in memory, not
cached). One poolkit call of each row runs with ``poolkit._engine.launch`` wrapped, which
records every kernel launch and its arguments; the launches are then replayed, with this
checkout's kernels and with REV's kernels of the same names, from the same argument state.
Each row is first checked to give bit-identical results both ways (a row that does not is
still timed, for changes meant to round differently, and the command then fails). Only the
kernels are timed (not the Python around them, which both share), and only ``_kernels``' are
swapped: launches of other kernel modules run in both variants. The engine's arguments must
suit both revisions' kernels; a kernel missing from REV, or one that fails on them, is reported.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .harness import REPO_ROOT
from .peers import PoolkitPeer
from .rows import make_inputs, select_rows

KERNELS = "src/poolkit/_kernels.py"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ab",
                                 description=__doc__.split("\n\n")[1])
    ap.add_argument("rev", nargs="?", default="HEAD",
                    help="git revision whose kernels are the baseline (default HEAD)")
    ap.add_argument("--old-file", default=None, metavar="PATH",
                    help="a kernel module file to use as the baseline instead of REV's")
    ap.add_argument("--rows", default="", metavar="PATTERN",
                    help="row-id globs or substrings as in python -m benchmarks (default: all)")
    ap.add_argument("--threads", default="", metavar="LIST",
                    help="thread counts to time, e.g. 1,2 (default: all of the machine's)")
    ap.add_argument("--blocks", type=int, default=30, metavar="N",
                    help="blocks per variant, taken in turn (default 30)")
    ap.add_argument("--calls", type=int, default=0, metavar="N",
                    help="calls per block (default: about 20 ms of calls)")
    ap.add_argument("--quick", action="store_true",
                    help="the toy shapes of python -m benchmarks --quick (timings meaningless)")
    return ap


def load_kernels(path: Path, name: str = "baseline_kernels") -> Any:
    """The kernel module at ``path``, imported under ``name``; its compiled functions compile
    in memory (not to Numba's on-disk cache, where they would mix with this checkout's)."""
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"`--old-file` is not a Python module; received {str(path)!r}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for obj in vars(mod).values():
        if isinstance(obj, CPUDispatcher):
            obj._cache = NullCache()
    return mod


def kernels_at(rev: str, folder: Path) -> Path:
    """Write REV's kernel module to ``folder`` and return its path."""
    try:
        text = subprocess.run(["git", "show", f"{rev}:{KERNELS}"], cwd=REPO_ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        why = getattr(exc, "stderr", "") or exc
        raise ValueError(f"`rev` must name a git revision holding {KERNELS}; received "
                         f"rev={rev!r} ({str(why).strip()})") from None
    path = folder / "baseline_kernels.py"
    path.write_text(text)
    return path


def record_launches(call: Callable[[], Any]) -> list[tuple[Any, tuple]]:
    """Run ``call`` once with ``poolkit._engine.launch`` wrapped; the (kernel, args) of every
    launch, arrays copied as they were when launched (later launches may overwrite them)."""
    from poolkit import _engine

    log: list[tuple[Any, tuple]] = []
    real = _engine.launch

    def spy(kern, work, *args):
        log.append((kern, tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)))
        real(kern, work, *args)

    _engine.launch = spy
    try:
        call()
    finally:
        _engine.launch = real
    return log


class Replay:
    """The recorded launches of one call, run with one set of kernels. ``run`` restores the
    arguments' arrays to their recorded state first when ``fresh``; timing skips that."""

    def __init__(self, launches: list[tuple[Any, tuple]], swap: Any | None) -> None:
        self.steps = []
        for kern, args in launches:
            name = getattr(kern, "__name__", "?")
            if swap is not None and getattr(kern, "__module__", "") == "poolkit._kernels":
                if not hasattr(swap, name):
                    raise LookupError(f"kernel {name} is not in the baseline")
                kern = getattr(swap, name)
            work = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            self.steps.append((kern, args, work))

    def run(self, fresh: bool = False) -> None:
        for kern, saved, work in self.steps:
            if fresh:
                for a, b in zip(work, saved):
                    if isinstance(a, np.ndarray):
                        np.copyto(a, b)
            kern(*work)

    def state(self) -> list[np.ndarray]:
        return [a for _, _, work in self.steps for a in work if isinstance(a, np.ndarray)]


def same_bits(a: Replay, b: Replay) -> bool:
    """Whether both replays leave every array of every launch with the same bytes."""
    a.run(fresh=True)
    b.run(fresh=True)
    return all(x.shape == y.shape and x.dtype == y.dtype
               and np.array_equal(np.ascontiguousarray(x).view(np.uint8),
                                  np.ascontiguousarray(y).view(np.uint8))
               for x, y in zip(a.state(), b.state()))


def time_pair(new: Replay, old: Replay, blocks: int, calls: int) -> tuple[list[float], list[float]]:
    """Seconds per call of each replay, one value per block, the blocks taken in turn."""
    out: tuple[list[float], list[float]] = ([], [])
    for _ in range(blocks):
        for k, rep in enumerate((new, old)):
            t = time.perf_counter()
            for _ in range(calls):
                rep.run()
            out[k].append((time.perf_counter() - t) / calls)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the A/B; returns 0, or 1 when a row's results differ or it could not be replayed."""
    args = _parser().parse_args(argv)
    if args.blocks < 1 or args.calls < 0:
        raise ValueError(f"`blocks` must be at least 1 and `calls` at least 0; received "
                         f"blocks={args.blocks}, calls={args.calls}")
    import numba

    rows = select_rows(args.rows or None)
    if not rows:
        raise ValueError(f"`rows` matched no row; received rows={args.rows!r}")
    counts = ([int(v) for v in args.threads.split(",")] if args.threads
              else [numba.config.NUMBA_NUM_THREADS])
    if any(not 1 <= n <= numba.config.NUMBA_NUM_THREADS for n in counts):
        raise ValueError(f"`threads` must be between 1 and {numba.config.NUMBA_NUM_THREADS}; "
                         f"received threads={args.threads!r}")
    label = "file" if args.old_file else args.rev
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.old_file) if args.old_file else kernels_at(args.rev, Path(tmp))
        old_mod = load_kernels(path)
        print(f"baseline: {path if args.old_file else args.rev}; rows: {len(rows)}; "
              f"threads: {','.join(map(str, counts))}; {args.blocks} blocks each, in turn")
        print(f"| row | threads | this checkout ms | {label} ms | ratio | bits |")
        print("|---|---:|---:|---:|---:|---|")
        bad = 0
        peer = PoolkitPeer()
        for row in rows:
            x, dy = make_inputs(row, args.quick)
            prep = peer.prepare(row, x, dy, args.quick)
            launches = record_launches(prep.run)
            if not launches:  # (nothing to compare: the call ran no kernel through the engine)
                print(f"| {row.id} | | | | | no kernel launched |")
                continue
            try:
                new, old = Replay(launches, None), Replay(launches, old_mod)
                same = same_bits(new, old)
            except Exception as exc:  # a kernel the baseline lacks or that rejects the arguments
                print(f"| {row.id} | | | | | not replayed: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:120]} |")
                bad += 1
                continue
            if not same:
                bad += 1
            for n in counts:
                numba.set_num_threads(n)
                new.run()
                t = time.perf_counter()
                new.run()
                calls = args.calls or max(1, min(200, int(0.02 / max(time.perf_counter() - t,
                                                                      1e-6))))
                a, b = time_pair(new, old, args.blocks, calls)
                ma, mb = float(np.median(a)), float(np.median(b))
                ratio = ma / max(mb, 1e-12)
                print(f"| {row.id} | {n} | {ma * 1e3:.3f} | {mb * 1e3:.3f} | {ratio:.2f} | "
                      f"{'same' if same else 'DIFFER'} |", flush=True)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
