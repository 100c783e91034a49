"""Smoke test of the benchmark harness (``python -m benchmarks``) on toy shapes.

Checks that the harness runs end to end with ``--quick``, that every installed peer
(PyTorch, TensorFlow, ONNX Runtime, JAX, NumPy) agrees with poolkit on the rows it
supports, that a disagreeing peer is caught, and that the subprocess probes work.
Nothing is asserted about speed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402
from benchmarks.__main__ import main  # noqa: E402
from benchmarks.peers import Peer, PoolkitPeer, Prepared, get_peers  # noqa: E402
from benchmarks.rows import ROWS, make_inputs, resolve_pads, select_rows  # noqa: E402

# One row per code path of the peers: explicit / SAME / composed padding, sliding windows,
# reshape windows, global, adaptive, Lp, float16, uint8, 1-D, 3-D, forward+backward.
SMOKE_ROWS = ",".join([
    "max2d-k3s2p1-f32-*-fwd", "avg2d-k3s1same-f32-*-fwd", "lp2d-p2-k2s2-f32-nchw-fwd",
    "aavg2d-o7-f32-nhwc-fwd", "gavg2d-f32-nchw-fwd", "glp2d-p2-f32-nhwc-fwd", "amax2d-o7-f32-nchw-fwd",
    "max1d-k3s2p1-f32-nwc-fwd", "avg3d-k2s2-f32-ncdhw-fwd", "avg2d-k2s2-f16-nhwc-fwd",
    "max2d-k2s2-u8-nchw-fwd", "max2d-k3s2p1-f32-nhwc-bwd", "avg2d-k3s1same-f32-nchw-bwd",
])


def test_row_ids_unique_and_shapes_match_poolkit():
    import poolkit as pk

    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))
    for row in ROWS:
        if row.kind != "windowed":
            continue
        for quick in (True, False):
            got = pk.output_shape(row.input_shape(quick), row.pool_size, row.strides, row.padding,
                                  data_format=row.layout)
            assert tuple(got) == row.output_shape(quick), row.id


def test_resolve_pads_same_definition():
    # TF SAME: out = ceil(in/s), total = max((out-1)*s + k - in, 0), odd cell at the end
    assert resolve_pads((112,), (3,), (2,), "same") == [(0, 1)]
    assert resolve_pads((112,), (3,), (1,), "same") == [(1, 1)]
    assert resolve_pads((5,), (4,), (1,), "same_lower") == [(2, 1)]
    assert resolve_pads((7, 7), (2, 2), (2, 2), 1) == [(1, 1), (1, 1)]


def test_select_rows_patterns():
    assert [r.id for r in select_rows("max2d-k2s2-f32-nhwc-fwd")] == ["max2d-k2s2-f32-nhwc-fwd"]
    assert all(r.backward for r in select_rows("*-bwd"))
    assert select_rows("no-such-row") == []


def test_quick_end_to_end(tmp_path):
    rc = main(["--quick", "--rows", SMOKE_ROWS, "--out", str(tmp_path), "--no-memory", "--no-latency"])
    data = json.loads((tmp_path / "results.json").read_text())
    assert rc == 0, [(r["id"], n, c) for r in data["rows"] for n, c in r["peers"].items()
                     if c["status"] not in ("ok", "n/a")]
    assert (tmp_path / "results.md").read_text().startswith("# poolkit benchmark results")
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data["rows"]) == len(select_rows(SMOKE_ROWS)) == 15
    peers_ran = set()
    for rec in data["rows"]:
        if rec.get("skipped"):  # backward rows before pk.vjp exists
            assert rec["backward"]
            continue
        assert rec["agreement_reference"] == "poolkit", rec["id"]
        assert rec["reference"]["status"] in ("ok", "skipped"), (rec["id"], rec["reference"])
        for name, cell in rec["peers"].items():
            assert cell["status"] in ("ok", "n/a"), (rec["id"], name, cell)
            if cell["status"] == "ok":
                assert cell["median_s"] > 0
                peers_ran.add(name)
        others = [n for n, c in rec["peers"].items() if n != "poolkit" and c["status"] == "ok"]
        assert others, f"no peer checked {rec['id']}"
    # every installed peer agreed with poolkit on at least one row
    assert peers_ran == {p.name for p in get_peers(None)}
    # the page and chart can be re-rendered from the JSON alone
    assert main(["--render", str(tmp_path / "results.json"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "results.md").read_text() == (tmp_path / "results.md").read_text()


class _OffByOnePeer(Peer):
    name, label, module = "offbyone", "off by one", "numpy"

    def prepare(self, row, x, dy, quick, for_memory=False):
        f = PoolkitPeer().func(row.op)
        args, kw = row.call_args()
        return Prepared(lambda: f(x, *args, **kw), lambda r: np.asarray(r) + 1)


def test_disagreeing_peer_is_caught_and_not_timed():
    row = select_rows("avg2d-k2s2-f32-nhwc-fwd")[0]
    rec = harness.measure_row(row, [PoolkitPeer(), _OffByOnePeer()], quick=True, repeat=1, cell_budget=0.0,
                              bandwidth=1e10, registry=None, log=lambda s: None, pause=0.0)
    assert rec["peers"]["poolkit"]["status"] == "ok"
    assert rec["peers"]["offbyone"]["status"] == "mismatch"
    assert "median_s" not in rec["peers"]["offbyone"]


def test_compare_is_exact_for_max():
    row = select_rows("max2d-k2s2-f32-nchw-fwd")[0]
    x, _ = make_inputs(row, quick=True)
    y = x[:, :, ::2, ::2]
    assert harness.compare(row, y, y.copy())[0]
    assert not harness.compare(row, y, np.nextafter(y, np.inf))[0]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_probes_in_subprocesses(tmp_path):
    rc = main(["--quick", "--rows", "max2d-k2s2-f32-nhwc-fwd", "--peers", "numpy", "--out", str(tmp_path)])
    assert rc == 0
    rec = json.loads((tmp_path / "results.json").read_text())["rows"][0]
    assert set(rec["memory"]) == {"poolkit", "numpy"}
    assert all(isinstance(v, int) and v >= 0 for v in rec["memory"].values()), rec["memory"]
    for key in ("cold", "warm_cache"):
        assert rec["latency"][key]["first_call_s"] > 0, rec["latency"]
    assert "Peak extra memory" in (tmp_path / "results.md").read_text()


# ---- --gpu plumbing, with the CPU standing in for the device (CI has no GPU)
from benchmarks import peers as peers_mod  # noqa: E402


class _StandInTorchCuda(peers_mod.TorchCudaPeer):
    """TorchCudaPeer's code path (copy to the device, queued calls, copy back) on the CPU."""

    name, label, device = "standin-cuda", "stand-in CUDA", "cpu"

    def available(self):
        return peers_mod.TorchPeer.available(self)

    def _sync(self):
        pass

    def copy_bandwidth(self, nbytes=0, repeat=0):
        return {"device": "stand-in", "bytes": 1e6, "bandwidth": 1e12}


def test_gpu_run_keeps_gpu_peers_apart(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setitem(peers_mod.PEERS, "standin-cuda", _StandInTorchCuda())
    rows = "max2d-k3s2p1-f32-nhwc-fwd,avg2d-k3s1same-f32-nchw-bwd"
    assert main(["--quick", "--gpu", "--rows", rows, "--peers", "numpy,standin-cuda", "--out", str(tmp_path),
                 "--no-memory", "--no-latency"]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["gpu_copy_bandwidth"]["bandwidth"] == 1e12
    for rec in data["rows"]:
        cell = rec["peers"]["standin-cuda"]
        assert cell["status"] == "ok" and cell["gpu"], (rec["id"], cell)
        assert rec["best_gpu_peer"] == "standin-cuda"
        assert rec["gpu_floor_s"] == rec["bytes"] / 1e12
        assert rec["ratio_gpu_floor"] == cell["median_s"] / rec["gpu_floor_s"]
        # poolkit's rival is the best CPU peer, never the GPU one
        assert rec.get("best_peer") in (None, "numpy"), rec["id"]
    md = (tmp_path / "results.md").read_text()
    assert "| GPU floor | GPU/floor |" in md and "stand-in" in md
    # without --gpu the GPU peers are not chosen by default
    assert not any(p.gpu for p in get_peers(None))


class _QueuedPeer(Peer):
    name, label, module, gpu = "queued", "queued", "numpy", True

    def prepare(self, row, x, dy, quick, for_memory=False):
        f = PoolkitPeer().func(row.op)
        args, kw = row.call_args()
        return Prepared(lambda: f(x, *args, **kw), np.asarray, calls=4)


def test_time_per_call_divides_queued_calls(monkeypatch):
    clock = iter(range(10**6))  # every reading of the clock is one second later
    monkeypatch.setattr(harness.time, "perf_counter", lambda: float(next(clock)))
    row = select_rows("max2d-k2s2-f32-nchw-fwd")[0]
    rec = harness.measure_row(row, [PoolkitPeer(), _QueuedPeer()], quick=True, repeat=3, cell_budget=0.0,
                              bandwidth=1e10, registry=None, log=lambda s: None, pause=0.0)
    assert rec["peers"]["poolkit"]["median_s"] == 1.0
    assert rec["peers"]["queued"]["median_s"] == 0.25
    harness.summarize(rec)
    assert rec["best_gpu_peer"] == "queued" and "best_peer" not in rec and "ratio_best" not in rec


def test_shape_option_sets_the_full_size_input(tmp_path, monkeypatch):
    # --shape replaces the full-size input of the rows with as many spatial dims (here a tiny one,
    # so that this full-mode run is quick); a malformed shape is refused by name
    from benchmarks import rows as R

    monkeypatch.setitem(R.FULL_SHAPES, 2, R.FULL_SHAPES[2])  # restored after the test
    rc = main(["--rows", "gavg2d-f32-nchw-fwd,gmax2d-f32-nhwc-fwd", "--peers", "poolkit,numpy",
               "--shape", "2,3,9,7", "--repeat", "1", "--budget", "0.001", "--no-memory",
               "--no-latency", "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["shape"] for r in data["rows"]] == [[2, 3, 9, 7], [2, 9, 7, 3]]
    assert all(r["peers"]["numpy"]["status"] == "ok" for r in data["rows"])
    with pytest.raises(SystemExit) as info:
        main(["--shape", "2,3,0", "--list"])
    assert info.value.code == 2
