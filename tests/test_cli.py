"""The ``poolkit`` command line, driven as a real subprocess.

Expected numbers come from the seed's stated example, from NumPy reshape-reductions written here,
or from the slow loop reference in :mod:`tests.reference`; never from poolkit's own output.
The ``compare`` claims are checked by running the printed calls in PyTorch, TensorFlow/Keras and
ONNX Runtime (each skipped when not installed).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from . import reference as ref

pytest.importorskip("typer")
pytest.importorskip("rich")

SEED = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 3], [4, 5, 9, 0]])
SEED_MAX = [[6, 4], [7, 9]]              # as stated in the seed
SEED_AVG = [[3.75, 2.25], [4.5, 5]]      # as stated in the seed


def cli(*args: str, cwd: Path | None = None, env: dict | None = None,
        columns: int | None = 160) -> subprocess.CompletedProcess:
    """Run ``python -m poolkit.cli ARGS`` and capture its output (never a terminal)."""
    e = dict(os.environ)
    for var in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        e.pop(var, None)
    e["MPLBACKEND"] = "Agg"
    if columns is not None:
        e["COLUMNS"] = str(columns)
    else:
        e.pop("COLUMNS", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "poolkit.cli", *args], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=300)


def grid_after(text: str, header: str) -> list[np.ndarray]:
    """Every number grid printed right after a line starting with `header` (one per occurrence)."""
    lines = text.splitlines()
    grids = []
    for i, line in enumerate(lines):
        if line.strip().startswith(header):
            rows = []
            for row in lines[i + 1:]:
                cells = row.replace("[", " ").replace("]", " ").split()
                if not cells or not all(re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?|nan|-?inf", c)
                                        for c in cells):
                    break
                rows.append([float(c) for c in cells])
            grids.append(np.array(rows))
    return grids


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("poolkit: error:"), err
    for n in needles:
        assert n in err, err


# --------------------------------------------------------------------------- everywhere


def test_help_and_version():
    top = cli("--help")
    assert top.returncode == 0
    for command in ("explain", "pool", "compare", "precompile"):
        assert command in top.stdout
    version = cli("--version")
    assert version.returncode == 0
    import poolkit

    assert version.stdout.strip() == f"poolkit {poolkit.__version__}"
    for command, option in (("explain", "--grad"), ("pool", "--pyramid"), ("compare", "--input-size"),
                            ("precompile", "--processes")):
        proc = cli(command, "--help")
        assert proc.returncode == 0, proc.stderr
        assert option in proc.stdout


def test_precompile_reports_what_it_compiled_and_rejects_unknown_dtypes():
    # (in a whole-suite run the kernels are in Numba's cache already: this loads them)
    proc = cli("precompile", "--dtypes", "float64", "--processes", "1")
    assert proc.returncode == 0, proc.stderr
    m = re.fullmatch(r"(\d+) kernel signatures \((\d+) kernels\) compiled or loaded in [\d.]+ s "
                     r"on 1 processes\n", proc.stdout)
    assert m and int(m.group(1)) >= int(m.group(2)) >= 20, proc.stdout
    bad = cli("precompile", "--dtypes", "float128")
    assert bad.returncode == 1
    assert "received dtypes=('float128',)" in bad.stderr and bad.stdout == ""


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("poolkit")
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("poolkit ")


def test_importing_poolkit_does_not_import_cli_dependencies():
    code = ("import sys, poolkit; bad = [m for m in ('typer', 'rich', 'matplotlib', 'PIL', 'torch', "
            "'tensorflow', 'jax', 'onnx') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --------------------------------------------------------------------------- explain


def test_explain_default_is_the_seed_example_in_plain_text():
    proc = cli("explain", columns=None)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out  # piped: no colour codes
    # the input grid, then the two outputs stated by the seed
    assert np.array_equal(grid_after(out, "Input")[0], SEED)
    outputs = grid_after(out, "Output (2x2)")
    assert len(outputs) == 2
    np.testing.assert_array_equal(outputs[0], SEED_MAX)
    np.testing.assert_allclose(outputs[1], SEED_AVG)
    # every window in turn, with its cells and result written out
    for cells, result in (((1, 3, 5, 6), 6), ((2, 4, 1, 2), 4), ((7, 2, 4, 5), 7), ((8, 3, 9, 0), 9)):
        assert f"max({', '.join(map(str, cells))}) = {result}" in out
    assert "(1 + 3 + 5 + 6) / 4 = 3.75" in out
    assert "(8 + 3 + 9 + 0) / 4 = 5" in out
    # the selected maximum of window (0, 0) is marked, its other cells bracketed
    assert "[1] [3]" in out and "*6*" in out
    # the output-size formula with the numbers filled in
    assert "floor((4 + 0 + 0 - 1*1 - 1) / 2) + 1" in out
    assert "max pooling" in out and "average pooling" in out


def test_explain_uses_colour_when_forced():
    proc = cli("explain", "--op", "max", env={"FORCE_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" in proc.stdout


def test_explain_random_grid_matches_numpy_reshape_reductions(rng):
    x = rng.integers(-9, 10, size=(4, 6))
    inline = "; ".join(" ".join(str(v) for v in row) for row in x)
    proc = cli("explain", "--op", "all", "--input", inline, "--pool", "2", "-p", "1")
    assert proc.returncode == 0, proc.stderr
    blocks = x.reshape(2, 2, 3, 2).transpose(0, 2, 1, 3).reshape(2, 3, 4)
    mx, av, l1 = grid_after(proc.stdout, "Output (2x3)")
    np.testing.assert_array_equal(mx, blocks.max(-1))
    np.testing.assert_allclose(av, blocks.mean(-1), atol=5e-4 * np.abs(blocks.mean(-1)).max())
    np.testing.assert_allclose(l1, np.abs(blocks).sum(-1), rtol=1e-3)


@pytest.mark.parametrize(
    "padding, api_padding",
    [("same", "same"), ("same_lower", "same_lower"), ("1", 1), ("1,0", (1, 0)),
     ("0:1,1:0", ((0, 1), (1, 0))), ("((1, 0), (0, 1))", ((1, 0), (0, 1)))],
)
def test_explain_padding_forms_and_formula(padding, api_padding):
    x = np.arange(20, dtype=np.int64).reshape(4, 5) % 7
    inline = "; ".join(" ".join(str(v) for v in row) for row in x)
    proc = cli("explain", "--op", "max", "--input", inline, "--pool", "3", "--stride", "2",
               "--padding", padding)
    assert proc.returncode == 0, proc.stderr
    expected = ref.max_pool(x[None, :, :, None], 3, 2, api_padding)[0, :, :, 0]
    (got,) = grid_after(proc.stdout, f"Output ({expected.shape[0]}x{expected.shape[1]})")
    np.testing.assert_array_equal(got, expected)
    if padding.startswith("same"):
        # in=5, stride 2: out = ceil(5/2) = 3; total pad = max(2*2 + 2 + 1 - 5, 0) = 2
        assert "ceil(5 / 2) = 3" in proc.stdout
        assert "max(2*2 + 2*1 + 1 - 5, 0) = 2" in proc.stdout
        # in=4: out = 2, total pad = max(1*2 + 2 + 1 - 4, 0) = 1, an odd total
        assert "odd total" in proc.stdout
    else:
        assert "floor((" in proc.stdout


def test_explain_dilation_ceil_mode_and_count_include_pad():
    x = np.arange(1, 26, dtype=np.int64).reshape(5, 5)
    inline = "; ".join(" ".join(str(v) for v in row) for row in x)
    proc = cli("explain", "--op", "avg", "--input", inline, "--pool", "2", "--stride", "2",
               "--padding", "1", "--ceil-mode", "--count-include-pad")
    assert proc.returncode == 0, proc.stderr
    expected = ref.avg_pool(x[None, :, :, None].astype(float), 2, 2, 1, ceil_mode=True,
                            count_include_pad=True)[0, :, :, 0]
    (got,) = grid_after(proc.stdout, f"Output ({expected.shape[0]}x{expected.shape[1]})")
    np.testing.assert_allclose(got, expected, rtol=1e-3)
    assert "ceil((5 + 1 + 1 - 1*1 - 1) / 2) + 1" in proc.stdout
    proc = cli("explain", "--op", "max", "--input", inline, "--pool", "2", "--dilation", "2",
               "--stride", "1")
    assert proc.returncode == 0, proc.stderr
    expected = ref.max_pool(x[None, :, :, None], 2, 1, dilation=2)[0, :, :, 0]
    (got,) = grid_after(proc.stdout, "Output (3x3)")
    np.testing.assert_array_equal(got, expected)


def test_explain_grad_routes_to_the_selected_cells():
    proc = cli("explain", "--op", "max,avg", "--grad")
    assert proc.returncode == 0, proc.stderr
    # max: each 2x2 block sends its gradient to its argmax (computed here with NumPy)
    blocks = SEED.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    arg = blocks.argmax(-1)
    expected = np.zeros((4, 4))
    for i in range(2):
        for j in range(2):
            r, c = divmod(int(arg[i, j]), 2)
            expected[2 * i + r, 2 * j + c] = 1
    dx_max, dx_avg = grid_after(proc.stdout, "dx for dy = 1")
    np.testing.assert_array_equal(dx_max, expected)
    np.testing.assert_allclose(dx_avg, np.full((4, 4), 0.25))
    assert "dy at y[0,0] -> x[1,1]" in proc.stdout  # 6 sits at row 1, column 1


def test_explain_global_and_one_dimensional_input():
    proc = cli("explain", "--global", "--op", "max,avg")
    assert proc.returncode == 0, proc.stderr
    mx, av = grid_after(proc.stdout, "Output (1x1)")
    assert mx[0, 0] == SEED.max() and av[0, 0] == pytest.approx(SEED.mean(), rel=1e-3)
    proc = cli("explain", "--op", "max", "--input", "4 1 3 8 2 7 5", "--pool", "3", "--stride", "2")
    assert proc.returncode == 0, proc.stderr
    (got,) = grid_after(proc.stdout, "Output (3)")
    np.testing.assert_array_equal(got[0], [4, 8, 7])


def test_explain_reads_npy_and_csv(tmp_path, rng):
    x = rng.integers(0, 50, size=(4, 4))
    np.save(tmp_path / "g.npy", x)
    np.savetxt(tmp_path / "g.csv", x, delimiter=",", fmt="%d")
    expected = x.reshape(2, 2, 2, 2).max(axis=(1, 3))
    for name in ("g.npy", "g.csv"):
        proc = cli("explain", "--op", "max", "--input", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        np.testing.assert_array_equal(grid_after(proc.stdout, "Output (2x2)")[0], expected)


def test_explain_png_is_a_valid_image_of_the_expected_size(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    png = tmp_path / "seed.png"
    proc = cli("explain", "--png", str(png))
    assert proc.returncode == 0, proc.stderr
    with Image.open(png) as img:
        assert img.format == "PNG"
        assert img.size == (800, 800)  # 2 panels (input, output) x 2 ops, 400 px each
        assert len(img.getcolors(1 << 20)) > 10  # not a blank canvas
    png2 = tmp_path / "grad.png"
    proc = cli("explain", "--op", "all", "--grad", "--png", str(png2))
    assert proc.returncode == 0, proc.stderr
    with Image.open(png2) as img:
        assert img.size == (1200, 1200)  # input, output, gradient x 3 ops


@pytest.mark.parametrize(
    "args, needle",
    [(["--stride", "0"], "strides"), (["--padding", "sideways"], "padding"),
     (["--png", "nodir/x.png"], "No such file"), (["--input", "1 2; 3"], "same number of cells"),
     (["--input", "missing.npy"], "not found"), (["--pool", "9"], "pool_size")],
)
def test_explain_errors_are_one_line(args, needle, tmp_path):
    assert_one_line_error(cli("explain", *args, cwd=tmp_path), needle)


# --------------------------------------------------------------------------- pool


def _png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(arr).save(path)


def test_pool_image_max_and_avg_per_channel(tmp_path, rng):
    Image = pytest.importorskip("PIL.Image")
    img = rng.integers(0, 256, size=(12, 10, 3), dtype=np.uint8)
    _png(tmp_path / "in.png", img)
    proc = cli("pool", "in.png", "out.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = img.reshape(6, 2, 5, 2, 3).max(axis=(1, 3))
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGB" and out.size == (5, 6)
        np.testing.assert_array_equal(np.asarray(out), expected)
    proc = cli("pool", "in.png", "avg.npy", "--op", "avg", "--pool", "2,5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "avg.npy")
    np.testing.assert_allclose(got, img.astype(float).reshape(6, 2, 2, 5, 3).mean(axis=(1, 3)))


def test_pool_grayscale_jpeg_and_tiff(tmp_path, rng):
    Image = pytest.importorskip("PIL.Image")
    img = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
    _png(tmp_path / "g.tif", img)
    proc = cli("pool", "g.tif", "g.jpg", "--pool", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "g.jpg") as out:
        assert out.format == "JPEG" and out.size == (2, 2) and out.mode == "L"


def test_pool_repeat_writes_a_pyramid(tmp_path, rng):
    Image = pytest.importorskip("PIL.Image")
    img = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    _png(tmp_path / "in.png", img)
    proc = cli("pool", "in.png", "top.png", "--repeat", "3", "--pyramid", "levels", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    level = img
    for k in (1, 2, 3):
        h = level.shape[0] // 2
        level = level.reshape(h, 2, h, 2, 3).max(axis=(1, 3))
        with Image.open(tmp_path / "levels" / f"top_level{k}.png") as out:
            np.testing.assert_array_equal(np.asarray(out), level)
    with Image.open(tmp_path / "top.png") as out:
        np.testing.assert_array_equal(np.asarray(out), level)


@pytest.mark.parametrize("layout", ["NCHW", "HWC", "CHW", "NHWC"])
def test_pool_npy_layouts(tmp_path, rng, layout):
    full = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)  # N C H W
    axes = {"N": 0, "C": 1, "H": 2, "W": 3}
    arr = full
    if "N" not in layout:
        arr = arr[0]
        axes = {k: v - 1 for k, v in axes.items() if k != "N"}
    arr = np.transpose(arr, [axes[ch] for ch in layout])
    np.save(tmp_path / "a.npy", arr)
    proc = cli("pool", "a.npy", "b.npy", "--layout", layout, "--op", "lp", "-p", "2", "--pool",
               "3,2", "--stride", "3,2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "b.npy")
    pooled = np.sqrt((full.astype(np.float64) ** 2).reshape(2, 3, 2, 3, 2, 2).sum(axis=(3, 5)))
    if "N" not in layout:
        pooled = pooled[0]
    expected = np.transpose(pooled, [axes[ch] for ch in layout])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_pool_padding_ceil_and_adaptive_match_reference(tmp_path, rng):
    x = rng.standard_normal((1, 7, 5, 2))
    np.save(tmp_path / "x.npy", x)
    proc = cli("pool", "x.npy", "y.npy", "--op", "avg", "--pool", "3", "--stride", "2",
               "--padding", "0:1,1:1", "--ceil-mode", "--count-include-pad", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = ref.avg_pool(x, 3, 2, ((0, 1), (1, 1)), ceil_mode=True, count_include_pad=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-12)
    proc = cli("pool", "x.npy", "z.npy", "--op", "max", "--output-size", "3,2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), ref.adaptive_max_pool(x, (3, 2)))
    proc = cli("pool", "x.npy", "g.npy", "--op", "avg", "--global", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(np.load(tmp_path / "g.npy").reshape(2), x.mean(axis=(0, 1, 2)))


def test_pool_errors_and_never_overwrites_the_input(tmp_path, rng):
    pytest.importorskip("PIL.Image")
    img = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    _png(tmp_path / "in.png", img)
    digest = hashlib.sha256((tmp_path / "in.png").read_bytes()).hexdigest()
    assert_one_line_error(cli("pool", "nope.png", "o.png", cwd=tmp_path), "not found")
    (tmp_path / "fake.png").write_text("not an image")
    assert_one_line_error(cli("pool", "fake.png", "o.png", cwd=tmp_path), "cannot read")
    assert_one_line_error(cli("pool", "in.png", "o.xyz", cwd=tmp_path), "unsupported")
    assert_one_line_error(cli("pool", "in.png", "o.png", "--stride", "0,2", cwd=tmp_path),
                          "strides", "(0, 2)")
    assert_one_line_error(cli("pool", "in.png", "o.png", "--pool", "20", cwd=tmp_path), "pool_size")
    assert_one_line_error(cli("pool", "in.png", "in.png", cwd=tmp_path), "--overwrite")
    assert_one_line_error(cli("pool", "in.png", "x/o.png", cwd=tmp_path), "does not exist")
    assert hashlib.sha256((tmp_path / "in.png").read_bytes()).hexdigest() == digest
    assert not (tmp_path / "o.png").exists()
    proc = cli("pool", "in.png", "in.png", "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(tmp_path / "in.png") as out:
        assert out.size == (4, 4)


# --------------------------------------------------------------------------- compare


def compare_json(*args: str) -> dict:
    proc = cli("compare", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _run_torch(call: str, x_ncs: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(x_ncs)
    return eval(call, {"torch": torch, "x": x, "float": float}).numpy()  # noqa: S307


def _to_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1)


def _to_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)


def _run_tf(call: str, x_ncs: np.ndarray) -> np.ndarray:
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    out = eval(call, {"tf": tf, "keras": keras, "x": tf.constant(_to_last(x_ncs))})  # noqa: S307
    return _to_first(np.asarray(out))


def _run_onnx(call: str, x_ncs: np.ndarray) -> np.ndarray:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    node = eval(call, {"onnx": onnx})  # noqa: S307
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_ncs.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x_ncs})[0]


RUNNERS = {"torch": _run_torch, "tf": _run_tf, "keras": _run_tf, "onnx": _run_onnx}


def _check_claims(answer: dict, x: np.ndarray, expected: np.ndarray, *, exact: set, none: set):
    """Every printed exact call and workaround reproduces `expected` when actually run."""
    for fw, entry in answer["targets"].items():
        if fw in exact:
            assert entry["exact"], (fw, entry)
        if fw in none:
            assert not entry["exact"], (fw, entry)
            assert entry["reasons"], entry
        for key in ("call", "workaround"):
            if key in entry:
                got = RUNNERS[fw](entry[key], x)
                assert got.shape == expected.shape, (fw, entry[key], got.shape, expected.shape)
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6,
                                           err_msg=f"{fw}: {entry[key]}")


# Sources: the source framework is run with arguments written here in the test, independently of
# the command's output; every target call the command prints is then run and compared with it.

def test_compare_torch_max_padding_to_others(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    src = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, 1).numpy()
    answer = compare_json("--from", "torch", "--op", "max", "--pool", "3", "--stride", "2",
                          "--padding", "1")
    _check_claims(answer, x, src, exact={"tf", "onnx"}, none={"keras"})
    assert "every input size" in answer["targets"]["onnx"]["scope"]


def test_compare_tf_same_with_odd_pad(rng):
    tf = pytest.importorskip("tensorflow")
    torch = pytest.importorskip("torch")
    # stride 1, window 2: SAME pads (0, 1), an odd total: no symmetric PyTorch padding exists
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    for op, tf_fn in (("max", tf.nn.max_pool2d), ("avg", tf.nn.avg_pool2d)):
        src = _to_first(tf_fn(tf.constant(_to_last(x)), 2, 1, "SAME").numpy())
        answer = compare_json("--from", "tf", "--op", op, "--pool", "2", "--stride", "1",
                              "--padding", "same", "--input-size", "5,4")
        _check_claims(answer, x, src, exact={"keras", "onnx"}, none={"torch"})
        assert any("both sides" in r for r in answer["targets"]["torch"]["reasons"])
        assert ("workaround" in answer["targets"]["torch"]) == (op == "max")
        # the "no equivalent" claim: no PyTorch padding/ceil_mode/count_include_pad reproduces it
        t = torch.from_numpy(x)
        for pad in (0, 1):
            for ceil in (False, True):
                for cip in (False, True):
                    if op == "max":
                        y = torch.nn.functional.max_pool2d(t, 2, 1, pad, ceil_mode=ceil).numpy()
                    else:
                        y = torch.nn.functional.avg_pool2d(t, 2, 1, pad, ceil_mode=ceil,
                                                           count_include_pad=cip).numpy()
                    assert y.shape != src.shape or not np.allclose(y, src)


def test_compare_tf_same_found_with_ceil_mode_for_one_size(rng):
    tf = pytest.importorskip("tensorflow")
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    src = _to_first(tf.nn.avg_pool2d(tf.constant(_to_last(x)), 3, 2, "SAME").numpy())
    answer = compare_json("--from", "tf", "--op", "avg", "--pool", "3", "--stride", "2",
                          "--padding", "same", "--input-size", "6")
    _check_claims(answer, x, src, exact={"torch", "keras", "onnx"}, none=set())
    assert answer["targets"]["torch"]["scope"] == "input size 6x6 only"
    no_size = compare_json("--from", "tf", "--op", "avg", "--pool", "3", "--stride", "2",
                           "--padding", "same")
    assert not no_size["targets"]["torch"]["exact"]
    assert any("--input-size" in r for r in no_size["targets"]["torch"]["reasons"])


def test_compare_torch_avg_count_include_pad_has_no_tf_equivalent(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 2, 7, 7)).astype(np.float32)
    src = torch.nn.functional.avg_pool2d(torch.from_numpy(x), 3, 2, 1).numpy()  # cip=True default
    answer = compare_json("--from", "torch", "--op", "avg", "--pool", "3", "--stride", "2",
                          "--padding", "1")
    _check_claims(answer, x, src, exact={"onnx"}, none={"tf", "keras"})
    assert any("never counts padded cells" in r for r in answer["targets"]["tf"]["reasons"])
    assert "workaround" in answer["targets"]["tf"] and "workaround" in answer["targets"]["keras"]


def test_compare_onnx_asymmetric_pads_and_dilation(rng):
    pytest.importorskip("onnxruntime")
    x = rng.standard_normal((1, 2, 8, 7)).astype(np.float32)
    node = ("onnx.helper.make_node('MaxPool', ['x'], ['y'], kernel_shape=[3, 2], strides=[2, 1], "
            "pads=[0, 1, 1, 0], dilations=[1, 1])")
    src = _run_onnx(node, x)
    answer = compare_json("--from", "onnx", "--op", "max", "--pool", "3,2", "--stride", "2,1",
                          "--pads", "0,1,1,0")
    _check_claims(answer, x, src, exact={"tf"}, none=set())
    node = ("onnx.helper.make_node('MaxPool', ['x'], ['y'], kernel_shape=[2, 2], strides=[1, 1], "
            "dilations=[2, 2])")
    src = _run_onnx(node, x)
    answer = compare_json("--from", "onnx", "--op", "max", "--pool", "2", "--stride", "1",
                          "--dilation", "2")
    _check_claims(answer, x, src, exact={"torch", "tf"}, none={"keras"})


def test_compare_lp_and_one_dimensional(rng):
    torch = pytest.importorskip("torch")
    x = np.abs(rng.standard_normal((2, 3, 11))).astype(np.float32)
    src = torch.nn.functional.lp_pool1d(torch.from_numpy(x), 2, 3, 2).numpy()
    answer = compare_json("--from", "torch", "--op", "lp", "--pool", "3", "--stride", "2",
                          "--dims", "1")
    _check_claims(answer, x, src, exact={"onnx"}, none={"tf", "keras"})
    x = rng.standard_normal((2, 3, 11)).astype(np.float32)
    src = torch.nn.functional.avg_pool1d(torch.from_numpy(x), 2, 2, 1, count_include_pad=False).numpy()
    answer = compare_json("--from", "torch", "--op", "avg", "--pool", "2", "--padding", "1",
                          "--no-count-include-pad", "--dims", "1", "--input-size", "11")
    _check_claims(answer, x, src, exact={"onnx"}, none=set())


def test_compare_human_output_and_errors():
    proc = cli("compare", "--from", "tf", "--op", "max", "--pool", "2", "--stride", "1",
               "--padding", "same", "--input-size", "5")
    assert proc.returncode == 0, proc.stderr
    assert "no exact equivalent" in proc.stdout and "exact workaround" in proc.stdout
    assert "torch.nn.functional.pad" in proc.stdout
    assert_one_line_error(cli("compare", "--from", "caffe", "--pool", "2"), "from")
    assert_one_line_error(cli("compare", "--from", "tf", "--op", "max", "--pool", "2",
                              "--ceil-mode"), "ceil_mode")
    assert_one_line_error(cli("compare", "--from", "torch", "--op", "max", "--pool", "2",
                              "--padding", "2"), "kernel_size // 2")


def test_compare_claims_hold_on_random_configurations():
    """Property: every exact call and workaround ``compare`` prints reproduces the source's result.

    The source semantics are run through poolkit (itself checked against the frameworks elsewhere);
    the printed target calls are run in the real frameworks.
    """
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    pytest.importorskip("onnxruntime")
    import poolkit as pk
    from poolkit import _cli_compare as C
    from poolkit._cli_io import CLIError

    @st.composite
    def sources(draw):
        fw = draw(st.sampled_from(["torch", "tf", "keras", "onnx"]))
        op = draw(st.sampled_from(["max", "avg"] + (["lp"] if fw in ("torch", "onnx") else [])))
        nd = draw(st.integers(1, 2))
        k = [draw(st.integers(1, 4)) for _ in range(nd)]
        s = [draw(st.integers(1, 3)) for _ in range(nd)]
        n = [draw(st.integers(max(k) + 1, 9)) for _ in range(nd)]
        kw = dict(framework=fw, op=op, pool_size=",".join(map(str, k)),
                  stride=",".join(map(str, s)), padding=None, pads=None, dilation=None,
                  ceil_mode=False, count_include_pad=None, divisor_override=None, p=2.0,
                  input_size=",".join(map(str, n)) if draw(st.booleans()) else None, dims=nd)
        if fw == "torch" and op != "lp":
            kw["padding"] = ",".join(str(draw(st.integers(0, kk // 2))) for kk in k)
        if fw in ("torch", "onnx"):
            kw["ceil_mode"] = draw(st.booleans())
        if fw in ("tf", "keras"):
            kw["padding"] = draw(st.sampled_from(["valid", "same"]))
        if fw == "onnx":
            if draw(st.booleans()):
                kw["padding"] = draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
            else:
                kw["pads"] = ",".join(str(draw(st.integers(0, kk - 1))) for kk in k + k)
        if op == "avg" and fw in ("torch", "onnx"):
            kw["count_include_pad"] = draw(st.booleans())
        if (fw == "torch" and op == "max") or fw == "onnx":
            kw["dilation"] = ",".join(str(draw(st.integers(1, 2))) for _ in k)
        return kw, n

    @hyp.settings(max_examples=20, deadline=None, derandomize=True)
    @hyp.given(sources())
    def check(case):
        kw, n = case
        try:
            cfg, size, fw = C.parse_source(**kw)
        except CLIError:
            return
        x = np.abs(np.random.default_rng(len(str(kw))).standard_normal((1, 2, *n))).astype(np.float32)
        padding = cfg.pad[0] if isinstance(cfg.pad[0], str) else tuple(map(tuple, cfg.pad))
        common = dict(dilation=cfg.d, ceil_mode=cfg.ceil, data_format="channels_first")
        try:
            if cfg.op == "max":
                y = pk.max_pool(x, cfg.k, cfg.s, padding, **common)
            elif cfg.op == "avg":
                y = pk.avg_pool(x, cfg.k, cfg.s, padding, count_include_pad=cfg.cip, **common)
            else:
                y = pk.lp_pool(x, 2, cfg.k, cfg.s, padding, **common)
        except ValueError:
            return
        answer = C.translate(cfg, fw, tuple(n) if size is not None else None)
        for target, entry in answer.items():
            if target == fw:
                continue
            for key in ("call", "workaround"):
                if key in entry and (size is not None or "only" not in entry.get("scope", "")):
                    got = RUNNERS[target](entry[key], x)
                    assert got.shape == y.shape, (kw, target, entry[key])
                    np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-6,
                                               err_msg=f"{kw} -> {target}: {entry[key]}")

    check()
