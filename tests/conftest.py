"""Shared fixtures: a tiny local model/tokenizer and verl config composition (all CPU, no hub)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"


# Module fixtures that run verl's trainer once for all the tests that read them. Each such test joins the fixture's
# xdist_group, so that side-by-side workers (pytest-xdist's --dist loadgroup) run them on one worker and the run
# happens once, not once a worker.
SHARED_RUNS = ("smoke_run", "learning_run")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(items):
    for item in items:
        for name in SHARED_RUNS:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(name))
    # The runs of minutes first (those marked long, and the shared runs), the rest in their order: side by side, a
    # long run handed out last keeps one worker busy while the other has nothing left to do.
    items.sort(
        key=lambda item: item.get_closest_marker("long") is None and item.get_closest_marker("xdist_group") is None
    )


def verl_config(*overrides: str):
    """verl's packaged ppo_trainer, composed with Hydra as verl's main_ppo does."""
    from recipe.tools.compose import compose_verl

    return compose_verl(overrides)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from recipe.smoke.tiny_model import build_model

    out = tmp_path_factory.mktemp("tiny_model")
    build_model(out)
    return str(out)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def shared_benchmarks() -> Path:
    """The published benchmark files, optional test data beside the checkout (tests skip cleanly without them)."""
    if not (SHARED_BENCHMARKS / "AIME24" / "test.parquet").exists():
        pytest.skip(f"{SHARED_BENCHMARKS} not present")
    return SHARED_BENCHMARKS


@pytest.fixture(scope="session")
def prepared_benchmarks(tmp_path_factory) -> Path:
    """The nine benchmarks and the three validation sets as data_prep writes them (DIR/<NAME>.parquet,
    DIR/validation/<NAME>.parquet) from JustRL's published files, through the path a download takes:
    ../shared/benchmarks is a mirror of them, checked against their sha256 as a download is."""
    from data_prep.benchmarks import main

    if not (SHARED_BENCHMARKS / "AIME24" / "test.parquet").exists():
        pytest.skip(f"{SHARED_BENCHMARKS} not present")
    out = tmp_path_factory.mktemp("benchmarks")
    assert main(["--output-dir", str(out), "--mirror", str(SHARED_BENCHMARKS)]) == 0
    return out


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory) -> Path:
    """Two small benchmarks (AIME24, MATH-500: "What is i + 1?", i < 12) in data_prep's output schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data_prep.benchmarks import convert
    from data_prep.files import write_rows_atomic

    out = tmp_path_factory.mktemp("bench")
    source = out / "src.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"problem": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(12)]), source
    )
    for name in ("AIME24", "MATH-500"):
        write_rows_atomic(out / f"{name}.parquet", convert(name, str(source)))
    return out
