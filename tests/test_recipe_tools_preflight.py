"""recipe/tools/preflight.py's GPU check against a real Ray cluster on loopback: a head node with no GPU (a login or
CPU node) and a worker declaring logical GPUs (`ray start --num-gpus N`, which Ray accepts on a CPU machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recipe.smoke.cluster import start_local_cluster
from recipe.smoke.run import RUN_MARKER, ray_temp_dir, stop_ray
from recipe.tools.compose import compose_recipe
from recipe.tools.preflight import gpu_problems


@pytest.fixture(scope="module")
def cpu_head_and_a_two_gpu_worker(tmp_path_factory):
    temp_dir = ray_temp_dir(tmp_path_factory.mktemp("cluster"))
    env = {**os.environ, RUN_MARKER: str(temp_dir)}
    try:
        address = start_local_cluster(2, temp_dir, env, gpus=[0, 2])
        yield address, {k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    finally:
        stop_ray(str(temp_dir))


def gpu_run(*overrides: str):
    return compose_recipe(["base_model=deepseek", "trainer.device=cuda", *overrides])


CHECK = """
import json, sys
from recipe.tools.compose import compose_recipe
from recipe.tools.preflight import gpu_problems
print(json.dumps(gpu_problems(compose_recipe(["base_model=deepseek", "trainer.device=cuda", *sys.argv[1:]]))))
"""


def test_the_gpus_of_the_cluster_a_run_joins_are_counted_not_the_launch_nodes(cpu_head_and_a_two_gpu_worker):
    """In a fresh process, as the launch runs it: Ray keeps its authentication settings per process."""
    address, auth = cpu_head_and_a_two_gpu_worker
    env = {**os.environ, **auth, "RAY_ADDRESS": address}

    def problems(*overrides: str) -> list[str]:
        out = subprocess.run([sys.executable, "-c", CHECK, *overrides], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert problems("trainer.nnodes=1", "trainer.n_gpus_per_node=2") == []
    assert problems("trainer.nnodes=2", "trainer.n_gpus_per_node=1") == []
    assert problems("trainer.nnodes=1", "trainer.n_gpus_per_node=3") == [
        f"the Ray cluster at {address} has 2 GPU(s), trainer.nnodes x trainer.n_gpus_per_node = 1 x 3 = 3 "
        "(NNODES, GPUS_PER_NODE)"
    ]


def test_a_cluster_that_cannot_be_joined_is_one_line(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    (problem,) = gpu_problems(gpu_run("trainer.nnodes=4"))
    assert problem.startswith("cannot join the Ray cluster at 127.0.0.1:1 (RAY_ADDRESS): ")


def test_several_nodes_without_a_cluster_to_join_are_refused(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert gpu_problems(gpu_run("trainer.nnodes=4")) == [
        "trainer.nnodes=4 (NNODES) needs a Ray cluster to join: set RAY_ADDRESS (launch/README.md)"
    ]
    (problem,) = gpu_problems(gpu_run("trainer.nnodes=1"))  # no GPU on this machine
    assert problem.startswith("0 CUDA GPU(s) visible on this node, trainer.n_gpus_per_node=8 (GPUS_PER_NODE)")
