"""The layout of one evaluation's output folder, owned here and nowhere else:

OUT/generations/<BENCHMARK>.jsonl   eval.generate: one record per sample, appended as it finishes
OUT/grades/<BENCHMARK>.jsonl        eval.grade: one grade per sample
OUT/report.md, OUT/report.png       eval.report
OUT/hf_<checkpoint>/                a verl checkpoint merged to Hugging Face once (eval.checkpoint)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.store import read_records


class SettingsMismatch(ValueError):
    """A rerun into a folder written with other settings (another model, seed, sampling or protocol)."""


def check_settings(path: Path, settings: dict) -> None:
    """Raise `SettingsMismatch` if the records already in `path` were written with other `settings`."""
    first = next(read_records(path), None)
    if first is None:
        return
    for key, value in settings.items():
        if first.get(key) != value:
            raise SettingsMismatch(
                f"{path} holds results for {key}={first.get(key)!r}, this run has {key}={value!r}; "
                "use a fresh --output-dir, or --overwrite to replace them"
            )


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
