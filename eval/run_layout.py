"""The layout of one evaluation's output folder, owned here and nowhere else:

OUT/generations/<BENCHMARK>.jsonl   eval.generate: one record per sample, appended as it finishes
OUT/grades/<BENCHMARK>.jsonl        eval.grade: one grade per sample
OUT/report.md, OUT/report.png       eval.report
OUT/hf_<checkpoint>/                a verl checkpoint merged to Hugging Face once (eval.checkpoint)
OUT/replaced-<time>/                what `--overwrite` replaced, moved aside (never deleted), same layout

OUT defaults to eval_out/<model slug> (`python -m eval.run_layout MODEL` prints it, for launch/eval.sh): a hub id by
its name, a local model or verl checkpoint by its last two path parts (run and step) and a hash of its full path, so
that run1/global_step_100 and run2/global_step_100 never share a folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
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

    def merged_model(self, checkpoint: str | Path) -> Path:
        return self.root / f"hf_{model_slug(str(checkpoint))}"

    def set_aside(self, paths: list[Path]) -> Path | None:
        """Move the existing `paths` (and the report, which describes them) into `OUT/replaced-<time>/`, keeping their
        place in the layout: what `--overwrite` replaces is kept, not deleted. Returns the folder, or None if nothing
        was there."""
        present = [p for p in (*paths, self.report_md, self.report_png) if p.exists()]
        if not present:
            return None
        target = self.root / f"replaced-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
        for path in present:
            moved = target / path.relative_to(self.root)
            moved.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, moved)
        return target


def model_slug(model: str) -> str:
    """A folder name for a model: its hub id, or a local path's last two parts and a hash of its full path."""
    path = Path(model)
    if not path.exists():
        return re.sub(r"[^\w.-]+", "__", model.strip("/"))
    full = path.resolve()
    digest = hashlib.sha256(str(full).encode()).hexdigest()[:8]
    return re.sub(r"[^\w.-]+", "_", "-".join(full.parts[-2:])) + f"-{digest}"


def default_output_dir(model: str) -> Path:
    return Path("eval_out") / model_slug(model)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m eval.run_layout MODEL   (prints the default output folder for MODEL)")
    print(default_output_dir(sys.argv[1]))
