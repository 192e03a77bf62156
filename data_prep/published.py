"""The benchmark files JustRL's published run read, fetched from its repository at a pinned commit and checked.

JustRL's repository (thunlp/JustRL at `COMMIT`) holds the nine parquets its evaluation read (`data/<NAME>/test.parquet`)
and the three sets its training run validated on (`train/data/<NAME>/test.json`, a JSON list of `prompt`/`answer`).
The two copies differ in places (12 of the 30 AIME24 statements), so each is used for what it was used for. Every
file is checked against the sha256 recorded here before it is read; a mismatch is an error naming the file.

A mirror (`--mirror DIR`) is a local copy of the same files, laid out `DIR/<NAME>/test.parquet` and
`DIR/<NAME>/validation.json`, for machines that cannot reach GitHub; it goes through the same checks.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from data_prep.schema import DataError

COMMIT = "cf444e9920b599c865ee6742c88dc162dcabcec2"
REPOSITORY = f"https://raw.githubusercontent.com/thunlp/JustRL/{COMMIT}"

# sha256 of each published file: evaluation (data/<NAME>/test.parquet) and in-training validation
# (train/data/<NAME>/test.json).
EVALUATION_SHA256 = {
    "AIME24": "147a9f9031b37e9b12450dfd4f2050a1bece8b3550bb6b9907fa386b5fedf887",
    "AIME25": "9d2333e1dc8831284747dfa62b58d8b6a84a94090ee108d1dd101f8d20a38593",
    "AMC23": "01191828e1fe738a2d19c3379213a6e5c92b425e1f86d67323e7b8613efa5678",
    "MATH-500": "966193d8d22e279e0055016566f0879b929748c29cba018b5db52981a8d88cfa",
    "Minerva": "af8621984d495b22f9ddbc301b388163cdb4433031a589ea337dc953085d8f02",
    "Olympiad-Bench": "2cd97aee40853b19d77a545202907acd84e104498221c6934995ba97f46fde61",
    "HMMT25": "ccca64d248b89dc0765e40b893fe4ebeab242226a4336027d95d256886a3d5f2",
    "BRUMO25": "ef510deea34c5b6d165c06d020acede1c1031eb91d90336cb4d615d9e55ba391",
    "CMIMC25": "7f290e5564265e57b0fe91c72bde2f1a06ca147148b7787084c54a0354abfcce",
}
VALIDATION_SHA256 = {
    "AIME24": "f52c531f6919731115b491d056be701e760e115d4b1cd5b57f48de2251a85d66",
    "AIME25": "93591e23f07c6d49b557657d03548c67fafa1857e974ec9d02842f69bb7b80fe",
    "AMC23": "87814e83ace2d8bf5b090a5921a6c52312df0341cd73140e27ad4df5b496eb11",
}


@dataclass(frozen=True)
class PublishedFile:
    name: str  # benchmark
    kind: str  # "evaluation" or "validation"

    @property
    def repository_path(self) -> str:
        return f"data/{self.name}/test.parquet" if self.kind == "evaluation" else f"train/data/{self.name}/test.json"

    @property
    def mirror_path(self) -> str:
        return f"{self.name}/test.parquet" if self.kind == "evaluation" else f"{self.name}/validation.json"

    @property
    def sha256(self) -> str:
        return (EVALUATION_SHA256 if self.kind == "evaluation" else VALIDATION_SHA256)[self.name]


def fetch(file: PublishedFile, mirror: Path | None = None, timeout_s: float = 60.0) -> tuple[bytes, str]:
    """(the file's bytes, where they came from): from the mirror if given, else from JustRL's repository at COMMIT;
    a DataError if it cannot be read or its sha256 is not the published one."""
    if mirror is not None:
        where = str(mirror / file.mirror_path)
        try:
            data = Path(where).read_bytes()
        except OSError as err:
            raise DataError(f"{where}: cannot read the mirror's copy of {file.repository_path} ({err})") from err
    else:
        where = f"{REPOSITORY}/{file.repository_path}"
        try:
            with urllib.request.urlopen(where, timeout=timeout_s) as response:
                data = response.read()
        except (urllib.error.URLError, OSError) as err:
            raise DataError(
                f"{where}: cannot download ({err}); on a machine without GitHub, copy the published files and pass "
                "--mirror DIR (DIR/<NAME>/test.parquet, DIR/<NAME>/validation.json), or choose --source hub"
            ) from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        raise DataError(
            f"{where}: sha256 {digest} is not that of JustRL's {file.repository_path} at {COMMIT[:12]} ({file.sha256})"
        )
    return data, where
