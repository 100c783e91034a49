"""Command line: ``python -m benchmarks [--quick] [--rows PATTERN] [--peers LIST] ...``.

Runs every selected row for poolkit and each installed peer in this one process
(all threads for everyone, agreement check, warm-up, interleaved timed runs,
median), then the memory and first-call probes in subprocesses, and writes
``results.md``, ``results.png`` and ``results.json`` to ``--out``.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
#: Rows probed for first-call latency by default (each costs two fresh processes and a
#: cold compile): one per op family, layout, dtype and dimensionality, plus a backward.
LATENCY_ROWS = ",".join([
    "max2d-k2s2-f32-nhwc-fwd", "max2d-k2s2-f32-nchw-fwd", "avg2d-k3s1same-f32-nhwc-fwd",
    "lp2d-p2-k2s2-f32-nhwc-fwd", "gavg2d-f32-nhwc-fwd", "aavg2d-o7-f32-nhwc-fwd", "max2d-k2s2-f16-nhwc-fwd",
    "max2d-k2s2-u8-nhwc-fwd", "max1d-k3s2p1-f32-nwc-fwd", "max3d-k2s2-f32-ndhwc-fwd", "max2d-k2s2-f32-nhwc-bwd",
])


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true",
                    help="toy shapes and few repeats (for tests/CI; timings meaningless)")
    ap.add_argument("--rows", default="", metavar="PATTERN",
                    help="comma-separated row-id globs or substrings, e.g. 'max2d-*-nhwc-fwd,gavg' "
                         "(see --list)")
    ap.add_argument("--peers", default="", metavar="LIST",
                    help="comma-separated peers among poolkit,torch,tf,ort,jax,numpy (default: all installed)")
    ap.add_argument("--repeat", type=int, default=None, metavar="N",
                    help="most timed runs per cell (default 10, quick 3)")
    ap.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                    help="time budget per cell; fewer runs (at least 3) for slow cells (default 0.6, quick 0.05)")
    ap.add_argument("--out", default=None, metavar="DIR",
                    help=f"output folder (default {DEFAULT_OUT.name}/, quick: {DEFAULT_OUT.name}/quick/)")
    ap.add_argument("--gpu", action="store_true",
                    help="also time the GPU peers (PyTorch CUDA, JAX GPU) against a GPU copy floor;"
                         " poolkit stays on the CPU")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--no-latency", action="store_true", help="skip the first-call-latency subprocesses")
    ap.add_argument("--latency-rows", default="", metavar="PATTERN",
                    help="rows for the first-call probes (default: one per op family, layout, dtype, "
                         "ndim, among the selected rows; 'all' patterns like '*' work too)")
    ap.add_argument("--shape", default="", metavar="N,C,S1[,S2[,S3]]",
                    help="full-size input of the rows with that many spatial dims instead of the "
                         "standard one (e.g. 32,2048,7,7: a ResNet-50 head); pair with --out")
    ap.add_argument("--list", action="store_true", help="print the row ids and exit")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="only re-write results.md/.png from a results.json (to --out, default its folder)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0, or 1 when a peer disagreed with poolkit."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.gpu:  # JAX's GPU platform next to its CPU one; memory taken as needed, not 75% up front
        os.environ.setdefault("JAX_PLATFORMS", "cuda,cpu")
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    from . import harness, report
    from .peers import PoolkitPeer, get_peers
    from .rows import FULL_SHAPES, select_rows

    if args.shape:
        try:
            dims = [int(v) for v in args.shape.split(",")]
        except ValueError:
            dims = []
        if not 3 <= len(dims) <= 5 or min(dims) < 1:
            parser.error("`shape` must be N,C and one to three spatial sizes, all positive; "
                         f"received shape={args.shape!r}")
        FULL_SHAPES[len(dims) - 2] = (dims[0], dims[1], tuple(dims[2:]))

    if args.render:
        import json

        src = Path(args.render)
        data = json.loads(src.read_text())
        paths = report.write_all(data, Path(args.out) if args.out else src.parent)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
        return 0
    rows = select_rows(args.rows)
    if args.list:
        for r in rows:
            print(f"{r.id:32s} {r.title}")
        return 0
    if not rows:
        print(f"no row matches --rows {args.rows!r} (see --list)", file=sys.stderr)
        return 2
    quick = args.quick
    repeat = args.repeat or (3 if quick else 10)
    if repeat < 1:
        parser.error(f"`repeat` must be a positive integer; received repeat={repeat}")
    budget = args.budget if args.budget is not None else (0.05 if quick else 0.6)
    out = Path(args.out) if args.out else (DEFAULT_OUT / "quick" if quick else DEFAULT_OUT)
    try:
        peers = get_peers(args.peers or None, gpu=args.gpu)
    except ValueError as exc:
        parser.error(str(exc))
    gpu_peers = [p for p in peers if p.gpu]
    if args.gpu and not gpu_peers:
        print("--gpu: no GPU peer is available (PyTorch with CUDA, or JAX with a GPU platform)",
              file=sys.stderr)
        return 2
    log = print

    t_start = time.perf_counter()
    load_before = harness.load_average()
    registry, why = harness.load_registry()
    registry_note = ""
    if registry is None:
        registry_note = f"registry not used ({why}); poolkit functions taken from the package"
        log(f"note: {registry_note}")
    else:
        ops = registry.OPS
        PoolkitPeer.funcs = {k: harness._entry_attr(v, "func") for k, v in ops.items()}
        missing = sorted({r.op for r in rows} - set(ops))
        if missing:
            registry_note = f"rows name ops missing from tests/registry.py: {missing}"
            log(f"warning: {registry_note}")
        uncovered = sorted(set(ops) - {r.op for r in select_rows('')})
        if uncovered:
            registry_note = (registry_note + "; " if registry_note else "") + \
                f"registry ops without a benchmark row: {uncovered}"
    for p in peers:
        p.setup()
    log(f"peers: {', '.join(p.name for p in peers)}; rows: {len(rows)}; threads: {harness._threads()}")
    machine = harness.machine_info(peers)
    copy_bytes = (8 if quick else 64) * 2**20

    def measure_bw():
        return harness.copy_bandwidth(copy_bytes, repeat=5 if quick else 15)

    bw = measure_bw()
    log(f"copy bandwidth {bw['bandwidth'] / 1e9:.1f} GB/s")
    gpu_bw = None
    bw_peer = next((p for p in gpu_peers if hasattr(p, "copy_bandwidth")), None)
    if bw_peer is not None:
        gpu_bw = dict(bw_peer.copy_bandwidth(2**24 if quick else 2**30), calls=bw_peer.calls)
        log(f"GPU copy bandwidth {gpu_bw['bandwidth'] / 1e9:.0f} GB/s ({gpu_bw['device']})")

    records = []
    bad = 0
    pause, warm = (0.0, 0.0) if quick else (0.05, 0.05)  # before each block of timed calls
    for i, row in enumerate(rows, 1):
        rec = harness.measure_row(row, peers, quick=quick, repeat=repeat, cell_budget=budget,
                                  bandwidth=bw["bandwidth"], registry=registry, log=log,
                                  pause=pause, warm=warm)
        harness.summarize(rec)
        records.append(rec)
        if not quick and i % 8 == 0:  # the machine may be shared: keep the best copy bandwidth seen
            bw = harness.merge_bandwidth(bw, measure_bw())
        bad += sum(c["status"] == "mismatch" for c in rec["peers"].values())
        if rec.get("reference", {}).get("status") in ("mismatch", "error"):
            bad += 1
            log(f"  REFERENCE {rec['reference']['status']} {row.id}: {rec['reference']['reason']}")
        cells = "  ".join(f"{n}={c['median_s'] * 1e3:.3g}ms" if "median_s" in c else f"{n}={c['status']}"
                          for n, c in rec["peers"].items())
        log(f"[{i}/{len(rows)}] {row.id}: {rec.get('skipped') or cells}")

    if not quick:
        bw = harness.merge_bandwidth(bw, measure_bw())
    for rec in records:  # the floor uses the best bandwidth of the whole run
        rec["floor_s"] = rec["bytes"] / bw["bandwidth"]
        if gpu_bw is not None:
            rec["gpu_floor_s"] = rec["bytes"] / gpu_bw["bandwidth"]
        harness.summarize(rec)
    log(f"copy bandwidth (best of {len(bw['samples'])}) {bw['bandwidth'] / 1e9:.1f} GB/s")

    if not args.no_memory:
        for p in peers:
            if not p.rss_measurable:
                continue
            log(f"memory probe: {p.name}")
            live = [r for r, rec in zip(rows, records) if "median_s" in rec["peers"].get(p.name, {})]
            if not live:
                continue
            res = harness.memory_probe(p, live, quick)
            for rec in records:
                v = res.get(rec["id"])
                if v is not None:
                    rec.setdefault("memory", {})[p.name] = v if isinstance(v, (int, float)) else None
            if "error" in res:
                log(f"  memory probe {p.name}: {res['error']}")
    if not args.no_latency:
        lat_rows = select_rows(args.latency_rows or LATENCY_ROWS, rows) or rows[:1]
        for row in lat_rows:
            rec = next(r for r in records if r["id"] == row.id)
            if "median_s" not in rec["peers"].get("poolkit", {}):
                continue
            log(f"first-call probe: {row.id}")
            rec["latency"] = harness.latency_probe(row, quick)

    cmd = "python -m benchmarks " + " ".join(shlex.quote(a) for a in argv)
    data = {
        "command": cmd.strip(), "quick": quick, "repeat": repeat, "budget_s": budget,
        "pause_s": pause, "warm_s": warm,
        "machine": machine, "copy_bandwidth": bw, "gpu_copy_bandwidth": gpu_bw, "load_before": _fmt_load(load_before),
        "load_after": _fmt_load(harness.load_average()), "registry_note": registry_note,
        "peers": [p.name for p in peers], "peer_labels": {p.name: p.label for p in peers},
        "rows": records, "elapsed_s": time.perf_counter() - t_start,
    }
    paths = report.write_all(data, out)
    log(f"wrote {', '.join(str(p) for p in paths.values())}")
    if bad:
        log(f"{bad} disagreement(s) with poolkit: see the table notes")
    return 1 if bad else 0


def _fmt_load(load):
    return None if load is None else "/".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    sys.exit(main())
