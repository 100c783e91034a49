"""Subprocess probes (run by the harness, one fresh interpreter each).

``python -m benchmarks.probe memory --peer NAME --rows ID,ID [--quick]``
    Peak extra resident memory of one warmed-up call per row: the kernel's
    high-water mark is reset (``/proc/self/clear_refs``), one call runs with its
    result kept alive, and the growth of ``VmHWM`` over the ``VmRSS`` before the
    call is reported (output included). poolkit runs with its buffer cache off,
    so that reusing freed results does not hide what a call needs. Run with
    glibc's mmap threshold pinned low (see ``harness.MALLOC_ENV``) so freed
    blocks leave the resident set.

``python -m benchmarks.probe latency --row ID [--quick]``
    Seconds to import poolkit, then to run the row's first call (compilation or
    cache loading included) and the second call. Run with ``NUMBA_CACHE_DIR``
    set by the caller: an empty directory for a cold start, the same one again
    for a warm cache.

Each prints one JSON object on its last stdout line.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path


def _status() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM", "VmRSS")):
            key, val = line.split(":", 1)
            out[key] = int(val.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory(peer_name: str, row_ids: list[str], quick: bool) -> dict:
    from .peers import PEERS, Unsupported
    from .rows import ROWS, make_inputs

    rows = {r.id: r for r in ROWS}
    peer = PEERS[peer_name]
    peer.setup()
    if peer_name == "poolkit":
        # measure what a call needs, not what the buffer cache already holds: with the cache on,
        # a warmed-up call reuses the previous call's blocks and grows RSS by ~0
        import poolkit

        poolkit.set_buffer_cache(0)
    result: dict[str, object] = {}
    if not _reset_peak():
        return {"error": "cannot reset the peak RSS (/proc/self/clear_refs)"}
    for rid in row_ids:
        row = rows[rid]
        x, dy = make_inputs(row, quick)
        try:
            prep = peer.prepare(row, x, dy, quick, for_memory=True)
            prep.run()
            prep.run()
        except Unsupported:
            continue
        except Exception as exc:  # not applicable for this peer: the timing run reports why
            result[rid] = {"error": f"{exc.__class__.__name__}"}
            continue
        gc.collect()
        _reset_peak()
        before = _status()["VmRSS"]
        res = prep.run()
        peak = _status()["VmHWM"]
        result[rid] = max(peak - before, 0)
        del res, prep, x, dy
        gc.collect()
    return result


def latency(row_id: str, quick: bool) -> dict:
    t0 = time.perf_counter()
    import poolkit  # noqa: F401

    t_import = time.perf_counter() - t0
    from .peers import PoolkitPeer
    from .rows import ROWS, make_inputs

    row = next(r for r in ROWS if r.id == row_id)
    x, dy = make_inputs(row, quick)
    prep = PoolkitPeer().prepare(row, x, dy, quick)
    t0 = time.perf_counter()
    prep.run()
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    prep.run()
    t_second = time.perf_counter() - t0
    return {"import_s": t_import, "first_call_s": t_first, "second_call_s": t_second}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.probe")
    sub = ap.add_subparsers(dest="what", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--peer", required=True)
    m.add_argument("--rows", required=True)
    m.add_argument("--quick", action="store_true")
    lat = sub.add_parser("latency")
    lat.add_argument("--row", required=True)
    lat.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.what == "memory":
            out = memory(args.peer, args.rows.split(","), args.quick)
        else:
            out = latency(args.row, args.quick)
    except Exception as exc:
        out = {"error": f"{exc.__class__.__name__}: {exc}"[:300]}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
