"""A Ray cluster of several nodes on this one machine, built as a multi-node user builds one: `ray start --head` on
the first node, `ray start --address=HEAD:PORT` on each other, then verl joins it through `RAY_ADDRESS`
(launch/common.sh, launch/slurm.sbatch). Each node declares one logical GPU, as the single-node smoke does.

Every process it starts carries the caller's environment, so `recipe.smoke.run.stop_ray` stops exactly them.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

HOST = "127.0.0.1"
CPUS_PER_NODE = 8  # logical CPUs: verl's actors and workers each claim some (see recipe/smoke/cpu.yaml)

# ray_init settings of recipe/smoke/cpu.yaml that ray.init refuses when it joins a cluster
JOIN_OVERRIDES = ["ray_kwargs.ray_init.num_cpus=null", "ray_kwargs.ray_init.num_gpus=null"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _ray(*args: str, env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).with_name("ray")), *args]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"`ray {' '.join(args)}` failed (exit {out.returncode}):\n{tail}")


def start_local_cluster(nodes: int, temp_dir: Path, env: dict[str, str], gpus: list[int] | None = None) -> str:
    """Start `nodes` Ray nodes on loopback, declaring `gpus[i]` logical GPUs on node i (the head first; default one
    each); returns the address to export as RAY_ADDRESS. Sets in `env` the token every node and the driver must share:
    Ray's head enables token authentication by default and keeps its token in ~/.ray/auth_token, which a node started
    with `ray start --address` does not read (`InvalidAuthToken`)."""
    env.setdefault("RAY_AUTH_MODE", "token")
    env.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    port = _free_port()
    gpus = gpus or [1] * nodes
    common = [f"--node-ip-address={HOST}", f"--num-cpus={CPUS_PER_NODE}", "--disable-usage-stats"]
    _ray("start", "--head", f"--port={port}", f"--temp-dir={temp_dir}", f"--num-gpus={gpus[0]}", *common, env=env)
    for node in range(1, nodes):
        _ray("start", f"--address={HOST}:{port}", f"--num-gpus={gpus[node]}", *common, env=env)
    address = f"{HOST}:{port}"
    print(f"smoke: local Ray cluster of {nodes} nodes at {address} (pid {os.getpid()} stops it)", flush=True)
    return address
