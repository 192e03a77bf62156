"""Report graded samples: a Markdown table per benchmark beside the published numbers, and a PNG chart.

    python -m eval.report --input-dir DIR [--published JustRL-DeepSeek-1.5B]

Per benchmark: avg@N (mean accuracy over all samples, the published score), unbiased pass@k (Chen et al. 2021) for
k in 1, 4, 8, 16, 32 up to N, solve-none and solve-all (share of problems no / every sample solved), format errors
(share of samples with no boxed answer), mean response length in tokens; then the average over benchmarks. The
published row is picked from the model name recorded in the generations, or named with --published. Writes
DIR/report.md and DIR/report.png, and prints the table.

Each row says how much is graded (problems, and samples graded of generated; eval/coverage.py). A benchmark graded in
part is marked PARTIAL and one generated but never graded is listed as UNGRADED; neither is compared with a published
number, nor is an evaluation with fewer problems or samples than the protocol's or sampled otherwise (temperature,
top-p, new tokens: the report's header states them), and the average is compared only when all nine benchmarks are.
The PNG carries the model, the grading and the sampling in its title, and marks partial and off-protocol bars.
The exit status is 0 only when every benchmark in the folder is completely graded (1 otherwise, after writing the
report), so a script cannot mistake a partial report for a finished one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_prep.files import atomic_output
from eval.coverage import PROTOCOL_SAMPLING, Coverage, coverages, describe_sampling
from eval.curves import pass_at_k, per_problem
from eval.plots import figure, save_png
from eval.protocol import PUBLISHED, published_for
from eval.run_layout import RunLayout
from eval.store import one_line_errors, read_records
from reward.sources import BENCHMARKS

KS = (1, 4, 8, 16, 32)


def summarize(grades: list[dict]) -> dict:
    """The report's figures for one benchmark's grades."""
    samples = per_problem(grades)
    n = min(len(v) for v in samples.values())
    counts = [(len(v), sum(v)) for v in samples.values()]
    lengths = [g["response_tokens"] for g in grades if g.get("response_tokens") is not None]
    return {
        "problems": len(samples),
        "n": n,
        "avg": 100 * sum(g["correct"] for g in grades) / len(grades),
        "pass": {k: 100 * sum(pass_at_k(m, c, k) for m, c in counts) / len(counts) for k in KS if k <= n},
        "solve_none": 100 * sum(c == 0 for _, c in counts) / len(counts),
        "solve_all": 100 * sum(c == m for m, c in counts) / len(counts),
        "format_errors": 100 * sum(bool(g.get("format_error")) for g in grades) / len(grades),
        "timed_out": sum(bool(g.get("timed_out")) for g in grades),
        "mean_tokens": sum(lengths) / len(lengths) if lengths else float("nan"),
    }


def load(layout: RunLayout) -> tuple[dict[str, dict], dict[str, Coverage], set[tuple[str, str | None]]]:
    """Each graded benchmark's figures, every benchmark's coverage, and the (protocol, verifier) pairs of the grades."""
    found, grading = {}, set()
    covered = coverages(layout.root)
    for name in covered:
        grades = list(read_records(layout.grades(name)))
        if grades:
            found[name] = summarize(grades)
            grading |= {(g.get("protocol", "unrecorded"), g.get("verifier")) for g in grades}
    return found, covered, grading


def grading_title(grading: set[tuple[str, str | None]]) -> tuple[str, bool]:
    """How the grades were made, in words, and whether they are comparable with the published numbers (graded by
    the published rule grader, then CompassVerifier-3B on every rejected response)."""
    if len(grading) != 1:
        return "mixed grading: " + "; ".join(sorted(f"{p}, {v or 'rule only'}" for p, v in grading)), False
    ((protocol, verifier),) = grading
    comparable = protocol == "published" and verifier is not None and "CompassVerifier" in verifier
    return f"{protocol} protocol, {verifier or 'rule only'}", comparable


def recorded_model(layout: RunLayout) -> str | None:
    for path in layout.generation_files():
        for record in read_records(path):
            return record.get("model")
    return None


def markdown(
    results: dict[str, dict],
    published: str | None,
    comparable: bool = True,
    covered: dict[str, Coverage] | None = None,
) -> str:
    """The table; without `comparable` grading the published numbers are shown but no delta (marked n/c), and so for
    a benchmark that is partial or short of the protocol (see `covered`); an ungraded one is a row of its own."""
    ref = PUBLISHED.get(published or "", {})
    covered = covered or {}
    ks = [k for k in KS if any(k in r["pass"] for r in results.values())]
    head = ["benchmark", "problems", "graded", "N", "avg@N (%)"]
    head += [f"published ({published}, %)" if published else "published (%)", "delta (points)"]
    head += [*(f"pass@{k} (%)" for k in ks), "solve-none (%)", "solve-all (%)", "format err (%)", "timed out (samples)"]
    head += ["mean tokens"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def fmt(x: float | None) -> str:
        return "" if x is None else f"{x:.2f}"

    def delta(ours: float, pub: float | None, ok: bool) -> str:
        return "" if pub is None else (fmt(ours - pub) if comparable and ok else "n/c")

    def graded(name: str) -> str:
        c = covered.get(name)
        return "" if c is None else f"{c.graded}/{c.generated}" if c.generated else str(c.graded)

    for name, r in results.items():
        c = covered.get(name)
        label = name if c is None or c.status == "complete" else f"{name} (PARTIAL)"
        pub = ref.get(name)
        row = [label, str(r["problems"]), graded(name), str(r["n"]), fmt(r["avg"]), fmt(pub)]
        row += [delta(r["avg"], pub, c is None or c.protocol), *(fmt(r["pass"].get(k)) for k in ks)]
        row += [fmt(r["solve_none"]), fmt(r["solve_all"]), fmt(r["format_errors"]), str(r["timed_out"])]
        row += [f"{r['mean_tokens']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    for name, c in covered.items():
        if name not in results:  # generated, never graded
            row = [f"{name} (UNGRADED)", str(c.problems), f"0/{c.generated}", "", "", fmt(ref.get(name))]
            lines.append("| " + " | ".join(row + [""] * (len(head) - len(row))) + " |")
    avg = sum(r["avg"] for r in results.values()) / len(results)
    every = len(results) == len(BENCHMARKS) and all(c.protocol for c in covered.values()) and bool(covered)
    pub_avg = sum(ref[n] for n in results) / len(results) if ref and all(n in ref for n in results) else None
    label = "**average**" if len(results) == len(BENCHMARKS) else f"**average of {len(results)}**"
    tail = [label, "", "", "", f"**{avg:.2f}**", fmt(pub_avg), delta(avg, pub_avg, every)]
    lines.append("| " + " | ".join(tail + [""] * (len(head) - len(tail))) + " |")
    return "\n".join(lines) + "\n"


def chart(results: dict[str, dict], published: str | None, path: Path, title: str = "",
          covered: dict[str, Coverage] | None = None) -> None:  # fmt: skip
    """Bars of avg@N beside the published ones; a partial benchmark's bar is hatched and labelled PARTIAL, an
    off-protocol one (fewer problems or samples, other sampling) labelled n/c."""
    covered = covered or {}
    names = list(results)
    xs = range(len(names))
    fig, ax = figure(max(6, 1.2 * len(names)), 4.6)
    shift, width = (0.2, 0.4) if published else (0.0, 0.6)  # beside the published bars, or centred on the names
    ours = ax.bar([x - shift for x in xs], [results[n]["avg"] for n in names], width=width, label="this run")
    for bar, name in zip(ours, names, strict=True):
        c = covered.get(name)
        if c is not None and c.status != "complete":
            bar.set_hatch("//")
    tags = [
        " PARTIAL" if (c := covered.get(n)) is not None and c.status != "complete"
        else " n/c" if c is not None and not c.protocol else ""
        for n in names
    ]  # fmt: skip
    ax.bar_label(ours, labels=[f"{results[n]['avg']:.1f}{t}" for n, t in zip(names, tags, strict=True)], fontsize=7)
    if published:
        theirs = [PUBLISHED[published].get(n, 0) for n in names]
        ax.bar_label(ax.bar([x + 0.2 for x in xs], theirs, width=0.4, label=published), fmt="%.1f", fontsize=7)
    ax.set_xticks(list(xs), names, rotation=30, ha="right")
    ax.set_ylabel("avg@N (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=8)
    ax.legend()
    save_png(fig, path, dpi=120)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-dir", required=True, type=Path)
    parser.add_argument("--published", choices=sorted(PUBLISHED), help="published row to compare with")
    args = parser.parse_args(argv)
    layout = RunLayout(args.input_dir)
    results, covered, grading = load(layout)
    if not results:
        print(f"error: no grades under {args.input_dir}; run eval.grade first", file=sys.stderr)
        return 2
    model = recorded_model(layout)
    published = args.published or (published_for(model) if model else None)
    how, comparable = grading_title(grading)
    samplings = sorted({describe_sampling(c.sampling) for c in covered.values()})
    sampled = "; ".join(samplings)
    table = f"# Evaluation of {model} ({how})\n\nSampled with {sampled}.\n\n" + markdown(
        results, published, comparable, covered
    )
    if published and not comparable:
        table += (
            "\nn/c: not comparable. The published numbers were graded under the published protocol with the model "
            "verifier (CompassVerifier-3B) on every rule-rejected response; these grades were not, so a difference "
            "would mix model and grading.\n"
        )
    off = [n for n, c in covered.items() if c.status == "complete" and not c.protocol_sampling]
    short = [n for n, c in covered.items() if c.status == "complete" and not c.protocol and n not in off]
    if published and short:
        table += (
            f"\nn/c for {', '.join(short)}: fewer problems or samples than the published protocol "
            "(data_prep/protocol.py BENCHMARK_SIZES, eval/protocol.py EVAL_SAMPLES), so not the published benchmark "
            "score.\n"
        )
    if published and off:
        table += (
            f"\nn/c for {', '.join(off)}: OFF-PROTOCOL SAMPLING ({sampled}; the protocol: "
            f"{describe_sampling(PROTOCOL_SAMPLING)}), so not comparable with the published score.\n"
        )
    unfinished = [f"{name}: {c.describe()}" for name, c in covered.items() if c.status != "complete"]
    if unfinished:
        table += "\nNOT FINISHED, these rows are not final and are compared with nothing:\n"
        table += "".join(f"- {line}\n" for line in unfinished)
    with atomic_output(layout.report_md) as tmp:
        Path(tmp).write_text(table)
    partial = " - NOT FINISHED (PARTIAL bars)" if unfinished else ""
    off_note = " - OFF-PROTOCOL sampling (n/c)" if off else ""
    chart(results, published, layout.report_png, f"{model}: {how}\n{sampled}{partial}{off_note}", covered)
    print(table)
    print(f"written: {layout.report_md}, {layout.report_png}")
    if unfinished:
        print(f"report: {len(unfinished)} benchmark(s) not finished; exit 1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
