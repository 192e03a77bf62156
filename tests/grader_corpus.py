"""Responses and ground truths on which the published evaluation's rule grader was run, to pin our `published`
protocol to its verdicts (tests/data/published_grader_verdicts.json, recorded by tests/bench/record_verdicts.py).

Two parts: a constructed corpus of equivalent and non-equivalent forms (ours, written here in full), and variants
built from the nine benchmarks' ground truths, regenerated from the published benchmark files so that no benchmark
data is stored in this repository.
"""

from __future__ import annotations

from pathlib import Path

NESTED = "(" * 300 + "1" + ")" * 300
DEEP = "(" * 3000 + "1" + ")" * 3000  # longer than what is normalised in the calling process

# (response, ground truth): every kind of answer form a 1.5B model writes, right and wrong.
CONSTRUCTED: list[tuple[str, str]] = [
    *[
        (f"so the answer is $\\boxed{{{given}}}$.", truth)
        for given, truth in [
            ("204", "204"),
            ("0204", "204"),
            ("204.0", "204"),
            ("205", "204"),
            ("-3", "-3"),
            ("- 3", "-3"),
            ("3", "-3"),
            ("1,000", "1000"),
            ("1{,}000", "1000"),
            ("10^3", "1000"),
            ("\\frac{1}{2}", "0.5"),
            ("0.5", "\\frac{1}{2}"),
            ("\\frac12", "\\frac{1}{2}"),
            ("\\dfrac{1}{2}", "\\frac{1}{2}"),
            ("\\tfrac{1}{2}", "\\frac{1}{2}"),
            ("\\frac{2}{4}", "\\frac{1}{2}"),
            ("1/2", "\\frac{1}{2}"),
            ("2/4", "1/2"),
            ("\\frac{6}{3}", "2"),
            ("\\dfrac{6}{3}", "2"),
            ("2.0", "2"),
            ("50\\%", "50"),
            ("50%", "0.5"),
            ("0.25", "25\\%"),
            ("\\sqrt{2}", "\\sqrt2"),
            ("\\sqrt{8}", "2\\sqrt{2}"),
            ("2\\sqrt{2}", "\\sqrt{8}"),
            ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
            ("\\pi", "\\pi"),
            ("3.14159", "\\pi"),
            ("2\\pi", "\\pi \\cdot 2"),
            ("(1,2)", "(1, 2)"),
            ("(2,1)", "(1,2)"),
            ("[1,2)", "[1,2)"),
            ("(1,2]", "[1,2]"),
            ("\\{1,2\\}", "\\{2,1\\}"),
            ("1, 2", "1,2"),
            ("2, 1", "1,2"),
            ("x+1", "1+x"),
            ("x^2-1", "(x-1)(x+1)"),
            ("y=2x+3", "2x+3"),
            ("90^\\circ", "90"),
            ("90", "90^\\circ"),
            ("5 \\text{ cm}", "5"),
            ("\\text{5 meters}", "5"),
            ("\\text{(B)}", "B"),
            ("B", "\\text{B}"),
            ("\\textbf{(C)}", "C"),
            ("yes", "Yes"),
            ("\\text{odd}", "odd"),
            ("3\\frac{1}{2}", "\\frac{7}{2}"),
            ("3 \\frac{1}{2}", "3.5"),
            ("7 3/4", "7.75"),
            ("1.5 \\times 10^{3}", "1500"),
            ("4.5e33", "4.5 \\times 10^{33}"),
            ("6.02\\times10^{23}", "6.02e23"),
            ("\\infty", "\\infty"),
            ("-\\infty", "\\infty"),
            ("\\emptyset", "\\varnothing"),
            ("a=2, b=3", "(2,3)"),
            ("2^{1009}", "2^{1009}"),
            ("2^{1010}/2", "2^{1009}"),
            ("e^{i\\pi}", "-1"),
            ("\\log_2 8", "3"),
            ("\\ln e", "1"),
            ("i", "i"),
            ("1+i", "i+1"),
            ("\\frac{1+\\sqrt{5}}{2}", "\\frac{\\sqrt{5}+1}{2}"),
            ("\\$5", "5"),
            ("5 dollars", "5"),
            ("100000000!", "\\sqrt{2}"),
            ("10^{10^{10}}", "7"),
            ("9^{9^{9^9}}", "\\frac{1}{3}"),
            ("9**9**9", "5"),
            ("2**3**2", "512"),
            ("2^{3^{2}}", "512"),
            (NESTED, "1"),
            (NESTED, "2"),
            (DEEP, "1"),
            (DEEP, "\\frac{1}{3}"),
            ("(((((1)))))", "1"),
            ("9" * 4301, "7"),
            ("9" * 4301, "9" * 4301),
            ("", "0"),
            (" ", "0"),
            ("None", "0"),
            ("\\boxed{5}", "5"),
            ("{5}", "5"),
            ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
            ("(3,\\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ]
    ],  # fmt: skip
    ("The answer is 204.", "204"),
    ("\\fbox{42}", "42"),
    ("so \\boxed 42", "42"),
    ("first \\boxed{5} then \\boxed 7", "5"),
    ("\\boxed{5} and \\boxed{6}", "6"),
    ("\\boxed{5} and \\boxed{6}", "5"),
    ("\\boxed{\\boxed{5}}", "5"),
    ("unbalanced \\boxed{\\frac{1}{2}", "\\frac{1}{2}"),
    ("\\boxed{204}", "\\boxed{204}"),
    ("\\boxed{204}", "  204  "),
    ("$\\boxed{2^{1009}}$", "$2^{1009}$"),
    ("\\boxed{\\frac{1}{2n+2}}", "$\\frac{1}{2 n+2}$"),
    ("\\boxedx{5}", "5"),
    ("no box at all", "5"),
]


def benchmark_variants(truth: str) -> list[str]:
    """Candidate final answers for one ground truth: equivalent forms and near misses."""
    clean = truth.strip()
    if clean.startswith("\\boxed{") and clean.endswith("}"):
        clean = clean[len("\\boxed{") : -1]
    clean = clean.strip("$").strip()
    candidates = [clean, f"${clean}$", clean.replace("\\frac", "\\dfrac"), f"\\text{{{clean}}}", clean.replace(" ", "")]
    if clean.lstrip("-").isdigit() and len(clean) < 30:
        n = int(clean)
        candidates += [str(n + 1), f"{n}.0", f"\\frac{{{2 * n}}}{{2}}"]
    else:
        candidates += [f"({clean})", f"2\\cdot {clean}", f"{clean}^2"]
    return list(dict.fromkeys(candidates))


def benchmark_cases(benchmarks_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """{benchmark: [(response, ground truth as published, stripped)]} from the published benchmark files."""
    import pyarrow.parquet as pq

    from reward.sources import BENCHMARKS

    cases = {}
    for name in BENCHMARKS:
        rows = pq.read_table(benchmarks_dir / name / "test.parquet").to_pylist()
        cases[name] = []
        for row in rows:
            truth = str(row["reward_model"]["ground_truth"] if "reward_model" in row else row["answer"]).strip()
            variants = benchmark_variants(truth)
            cases[name] += [(f"Thus the final answer is $\\boxed{{{given}}}$.", truth) for given in variants]
            cases[name] += [(f"The answer is {variants[0]}.", truth), (f"\\fbox{{{variants[0]}}}", truth)]
    return cases
