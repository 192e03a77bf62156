"""The layout of one evaluation's output folder, owned here and nowhere else:

OUT/generations/<BENCHMARK>.jsonl   eval.generate: one record per sample, appended as it finishes
OUT/grades/<BENCHMARK>.jsonl        eval.grade: one grade per sample
OUT/report.md, OUT/report.png       eval.report
OUT/hf_<checkpoint>/                a verl checkpoint merged to Hugging Face once (eval.checkpoint)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunLayout:
    root: Path

    def generations(self, benchmark: str) -> Path:
        return self.root / "generations" / f"{benchmark}.jsonl"

    def grades(self, benchmark: str) -> Path:
        return self.root / "grades" / f"{benchmark}.jsonl"

    def generation_files(self) -> list[Path]:
        """The benchmarks generated so far, one file each, in name order."""
        return sorted((self.root / "generations").glob("*.jsonl"))

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_png(self) -> Path:
        return self.root / "report.png"

    def merged_model(self, checkpoint_name: str) -> Path:
        return self.root / f"hf_{checkpoint_name}"
