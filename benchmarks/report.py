"""Writing the results: JSON (raw), Markdown table, PNG bar chart."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

MB = 1e6


def _ms(s: float | None) -> str:
    if s is None:
        return ""
    ms = s * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _cell(rec: dict, name: str) -> str:
    cell = rec["peers"].get(name)
    if cell is None:
        return ""
    if "median_s" in cell:
        text = _ms(cell["median_s"])
        if name != "poolkit" and name in (rec.get("best_peer"), rec.get("best_gpu_peer")):
            text = f"**{text}**"
        return text
    return {"n/a": "n/a", "mismatch": "✗ differs", "error": "error"}.get(cell["status"], cell["status"])


def _ratio(v: float | None, lead_mark: bool = False) -> str:
    if v is None:
        return ""
    text = f"{v:.2f}"
    if lead_mark and v > 1:
        text += " ⚠"
    return text


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, default=float) + "\n")


def markdown(data: dict) -> str:
    """The results page."""
    m = data["machine"]
    peers = data["peers"]
    labels = data["peer_labels"]
    bw = data["copy_bandwidth"]
    lines = [
        "# poolkit benchmark results",
        "",
        "Regenerate with:",
        "",
        "```",
        data["command"],
        "```",
        "",
        f"- Measured: {m['date']}" + (f", poolkit commit {m['commit']}" if m.get("commit") else ""),
        f"- Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['threads_used']} threads given to every"
        f" peer), {m['memory_gb']} GB RAM, {m['os']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Copy bandwidth (read + write, median of a {bw['bytes'] / MB:.0f} MB copy, best of"
        f" {len(bw.get('samples', [1]))} measurements spread over the run): "
        f"{bw['single_thread'] / 1e9:.1f} GB/s single thread, {bw['all_threads'] / 1e9:.1f} GB/s all threads;"
        f" the floor uses {bw['bandwidth'] / 1e9:.1f} GB/s"
        + (f" (samples: {', '.join(f'{v / 1e9:.1f}' for v in bw['samples'])} GB/s)" if bw.get("samples") else ""),
        f"- Load average before / after the run: {data.get('load_before')} / {data.get('load_after')}"
        " (anything well above 0 means other work shared the cores: treat ratios within ~20% as noise)",
        f"- Mode: {'quick (toy shapes: timings meaningless, checks only)' if data['quick'] else 'full'};"
        f" up to {data['repeat']} timed runs per cell (at least 3; fewer for slow cells) after warm-up,"
        f" in blocks interleaved across peers"
        + (f", each after a {data['pause_s'] * 1e3:.0f} ms pause and {data['warm_s'] * 1e3:.0f} ms of"
           " discarded calls" if data.get("warm_s") else "")
        + "; median shown;"
        f" total {data['elapsed_s']:.0f} s",
    ]
    gbw = data.get("gpu_copy_bandwidth")
    if gbw:
        lines.append(
            f"- GPU: {gbw['device']}; device-to-device copy bandwidth (read + write, median of CUDA-event"
            f" timed copies of {gbw['bytes'] / MB:.0f} MB): {gbw['bandwidth'] / 1e9:.0f} GB/s. GPU peers"
            f" run on inputs already on the GPU (the copy there is not timed), queue {gbw.get('calls', 20)} calls"
            f" and wait once; a call's time is the batch's over {gbw.get('calls', 20)}. poolkit runs on the CPU: `pk/best` compares it with"
            " the CPU peers only; `GPU floor` = bytes / GPU copy bandwidth, `GPU/floor` is the fastest"
            " GPU peer's ratio to it.")
    lines += [
        "",
        "Times are milliseconds per call (median). **Bold**: fastest peer. `floor` = (bytes in + bytes out) /"
        " copy bandwidth, the least a memory-bound op can cost. `pk/best` < 1 means poolkit leads"
        " (⚠ marks rows where it does not). `pk/floor` is how far poolkit is from the floor."
        " Every timed peer was first checked to agree with poolkit on the same input (max: exactly;"
        " averages: rtol 1e-4 for float32, 1e-2 for float16); `✗ differs` cells disagreed and were not timed.",
        "",
    ]
    head = ["row", "input", "floor"] + [labels[p] for p in peers] + ["pk/best", "pk/floor"]
    if gbw:
        head += ["GPU floor", "GPU/floor"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for rec in data["rows"]:
        shape = "×".join(map(str, rec["shape"]))
        if rec.get("skipped"):
            lines.append(f"| {rec['title']} | {shape} | | " + " | ".join(["—"] * len(peers))
                         + f" | skipped: {rec['skipped']} | |" + (" | |" if gbw else ""))
            continue
        cells = [rec["title"], shape, _ms(rec["floor_s"])] + [_cell(rec, p) for p in peers]
        cells += [_ratio(rec.get("ratio_best"), lead_mark=True), _ratio(rec.get("ratio_floor"))]
        if gbw:
            cells += [_ms(rec.get("gpu_floor_s")), _ratio(rec.get("ratio_gpu_floor"))]
        lines.append("| " + " | ".join(cells) + " |")

    # ---- memory and first-call latency
    has_mem = any(rec.get("memory") for rec in data["rows"])
    has_lat = any(rec.get("latency") for rec in data["rows"])
    if has_mem or has_lat:
        lines += ["", "## Peak extra memory and first-call latency", "",
                  "Peak extra memory: growth of the resident set during one warmed-up call, output included,"
                  " in MB (fresh process per peer, `python -m benchmarks.probe memory`). Not shown for"
                  " TensorFlow: its CPU allocator keeps freed buffers, so a warmed-up call grows RSS by ~0"
                  " whatever it uses. poolkit is measured with its buffer cache off (`poolkit.set_buffer_cache(0)`);"
                  " in the timed runs it is on, and keeps freed results of 16 MiB or more (at most 256 MiB)"
                  " for the next call. First call: poolkit's"
                  " first call in a fresh process (after `import poolkit`), with an empty Numba cache (cold)"
                  " and again with the cache the cold run left (warm cache), in ms.", ""]
        head = ["row", "output MB"]
        mem_peers = [p for p in peers if any(p in (r.get("memory") or {}) for r in data["rows"])]
        if has_mem:
            head += [f"{labels[p]} MB" for p in mem_peers]
        if has_lat:
            head += ["pk first call cold", "pk first call warm cache"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|---|" + "|".join(["---:"] * (len(head) - 1)) + "|")
        for rec in data["rows"]:
            if rec.get("skipped"):
                continue
            osz = np.dtype(_out_dtype(rec)).itemsize * int(np.prod(rec["out_shape"]))
            cells = [rec["title"], f"{osz / MB:.1f}"]
            if has_mem:
                mem = rec.get("memory", {})
                for p in mem_peers:
                    v = mem.get(p)
                    cells.append(f"{v / MB:.1f}" if isinstance(v, (int, float)) else "")
            if has_lat:
                lat = rec.get("latency") or {}
                for key in ("cold", "warm_cache"):
                    v = lat.get(key, {})
                    cells.append(_ms(v["first_call_s"]) if "first_call_s" in v else (v.get("error", "")[:40]))
            lines.append("| " + " | ".join(cells) + " |")
        imports = [r["latency"]["cold"].get("import_s") for r in data["rows"]
                   if r.get("latency") and "import_s" in r["latency"].get("cold", {})]
        if imports:
            lines += ["", f"`import poolkit` in a fresh process: {np.median(imports) * 1e3:.0f} ms (median)."]

    # ---- notes: what each peer ran (compositions) and why cells are empty
    notes: dict[str, dict[str, list[str]]] = {}
    for rec in data["rows"]:
        for p, cell in rec["peers"].items():
            who = notes.setdefault(labels.get(p, p), {})
            if cell.get("note"):
                who.setdefault("uses " + cell["note"], []).append(rec["id"])
            if cell.get("reason"):
                who.setdefault(f"{cell['status']}: {cell['reason']}", []).append(rec["id"])
        ref = rec.get("reference", {})
        if ref.get("status") in ("mismatch", "error"):
            notes.setdefault("poolkit vs registry reference", {}).setdefault(
                f"{ref['status']}: {ref['reason']}", []).append(rec["id"])
    lines += ["", "## Notes", ""]
    if data.get("registry_note"):
        lines.append(f"- Registry: {data['registry_note']}")
    for who in sorted(notes):
        for text, ids in sorted(notes[who].items()):
            where = ", ".join(ids) if len(ids) <= 4 else f"{len(ids)} rows"
            lines.append(f"- {who}: {text} ({where})")
    return "\n".join(lines) + "\n"


def _out_dtype(rec: dict) -> str:
    if rec["backward"]:
        return rec["dtype"]
    if rec["op"] == "max_pool" or np.dtype(rec["dtype"]).kind == "f":
        return rec["dtype"]
    return "float64"


def bar_chart(data: dict, path: Path) -> None:
    """Grouped horizontal bars: each peer's time relative to the memory floor (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in data["rows"] if not r.get("skipped")]
    # the CPU floor is no yardstick for GPU peers (``--gpu``): they are in the table only
    peers = [p for p in data["peers"] if not any(r["peers"].get(p, {}).get("gpu") for r in rows)]
    if not rows:
        return
    n, k = len(rows), len(peers)
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.42 * n))
    height = 0.8 / k
    colors = plt.get_cmap("tab10")
    for j, p in enumerate(peers):
        ys, vals = [], []
        for i, rec in enumerate(rows):
            cell = rec["peers"].get(p, {})
            if "median_s" in cell:
                ys.append(i + (j - (k - 1) / 2) * height)
                vals.append(cell["median_s"] / rec["floor_s"])
        ax.barh(ys, vals, height=height, color=colors(j), label=data["peer_labels"][p],
                edgecolor="black" if p == "poolkit" else "none", linewidth=0.6)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label="memory floor")
    ax.set_yticks(range(n))
    ax.set_yticklabels([r["title"] for r in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("time / memory floor (log scale; lower is better, 1 = copy-speed)")
    m = data["machine"]
    ax.set_ylim(n - 0.5, -0.5)
    shapes = sorted({"x".join(map(str, r["shape"])) for r in rows if r.get("shape")})
    standard = {"16x64x12544", "16x64x112x112", "4x32x32x56x56"}
    what = ("quick toy shapes" if data["quick"] else
            "16x64x112x112 and same-size 1-D/3-D inputs" if set(shapes) <= standard else
            ", ".join(shapes[:3]) + (" ..." if len(shapes) > 3 else ""))
    ax.set_title(f"Pooling, {what}\n{m['cpu']}, {m['threads_used']} threads, {m['date']}",
                 fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(data: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "md": out / "results.md", "png": out / "results.png"}
    write_json(paths["json"], data)
    paths["md"].write_text(markdown(data))
    bar_chart(data, paths["png"])
    return paths
