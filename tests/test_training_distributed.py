"""Data-parallel training (``torchrun``, two ``gloo`` processes on CPU) against one process with the same global
batch: the same weights within a small tolerance, a checkpoint step 04 and ``predict`` load, resume after a kill
to the uninterrupted weights, and a clear error for a batch that does not split."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from landslide_utils.training.checkpoint import load_checkpoint
from landslide_utils.training.distributed import DistContext, from_environment, shard

from .test_training_loop import make_study, weights

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _experiment(root: Path, name: str, model: str) -> Path:
    p = root / "params" / "experiments" / f"{name}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"name: {name}\nmodel: {model}\nchannels: rgb\ntraining_data: original\n", encoding="utf-8")
    return p


def _train_cmd(root: Path, exp: Path, nproc: int) -> list[str]:
    args = ["-m", "landslide_utils", "train", "--profile", str(root / "params/profiles/tiny.yaml"),
            "--experiment", str(exp), "--root", str(root), "--device", "cpu", "--no-progress"]
    if nproc == 1:
        return [sys.executable, *args]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
            "127.0.0.1", "--master_port", str(_port()), *args]


def _env() -> dict[str, str]:
    # one thread per process: two processes on two cores, and the arithmetic of every run repeatable
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def _run(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(), check=False)


def _relative_gap(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], start: dict[str, torch.Tensor]) -> float:
    """|a - b| over |b - start|, over every floating-point parameter: how far two runs end apart, relative to how
    far training moved the weights."""
    keys = [k for k in b if b[k].is_floating_point() and "running" not in k]
    gap = sum(float((a[k] - b[k]).pow(2).sum()) for k in keys) ** 0.5
    moved = sum(float((b[k] - start[k]).pow(2).sum()) for k in keys) ** 0.5
    return gap / moved


def test_shard_splits_a_batch_evenly_or_says_what_to_change() -> None:
    ctx = DistContext(rank=1, world=2)
    assert shard([10, 11, 12, 13], ctx) == [12, 13]
    assert shard([1, 2, 3], DistContext()) == [1, 2, 3]
    with pytest.raises(ValueError, match=r"training.batch_size: a global batch of 3 does not split evenly over 2"):
        shard([1, 2, 3], ctx)


def test_no_torchrun_means_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not from_environment("cpu").active
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="whole numbers"):
        from_environment("cpu")


@pytest.mark.parametrize("model", ["unet", "maskrcnn"])
def test_two_gloo_processes_train_like_one_with_the_same_global_batch(tmp_path: Path, model: str) -> None:
    """Global batch 2: one process on both tiles of each step, or two processes on one each with averaged
    gradients. Batch-norm statistics are per process (as DistributedDataParallel keeps them) and Mask R-CNN
    samples its proposals per process, so the runs agree closely, not bit for bit."""
    one, two = tmp_path / "one", tmp_path / "two"
    make_study(one, steps=3, every=3)
    make_study(two, steps=3, every=3)
    r1 = _run(_train_cmd(one, _experiment(one, "E", model), 1))
    assert r1.returncode == 0, r1.stderr[-3000:]
    r2 = _run(_train_cmd(two, _experiment(two, "E", model), 2))
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "on 2 processes (gloo)" in r2.stdout and r2.stdout.count("trained E") == 1  # rank 0 speaks
    w1 = weights(one / "data/tiny/experiments/E/checkpoint.pt")
    w2 = weights(two / "data/tiny/experiments/E/checkpoint.pt")
    torch.manual_seed(0)
    from landslide_utils.training.checkpoint import rebuild_model

    _, meta = load_checkpoint(one / "data/tiny/experiments/E/checkpoint.pt")
    torch.set_num_threads(1)
    start = rebuild_model(meta).state_dict()
    gap = _relative_gap(w2, w1, start)
    print(f"{model}: relative gap {gap:.4f}")
    assert gap < 0.05
    loaded, meta2 = load_checkpoint(two / "data/tiny/experiments/E/checkpoint.pt")  # step 04 / predict load it
    assert meta2["finished"] and meta2["step"] == 3
    from landslide_utils.config.load import load_experiment, load_profile
    from landslide_utils.training import experiment as train_mod

    again = train_mod.train_experiment(load_profile(two / "params/profiles/tiny.yaml"),
                                       load_experiment(two / "params/experiments/E.yaml"), root=two, progress=False)
    assert again.reused  # step 04 evaluates the torchrun checkpoint instead of training again
    ckpt = torch.load(two / "data/tiny/experiments/E/checkpoint.pt", weights_only=True)
    assert len(ckpt["rng_ranks"]) == 2


def test_killed_torchrun_job_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    full, cut = tmp_path / "full", tmp_path / "cut"
    for root in (full, cut):
        make_study(root, steps=6, every=2)
    assert _run(_train_cmd(full, _experiment(full, "E", "unet"), 2)).returncode == 0
    exp = _experiment(cut, "E", "unet")
    ckpt = cut / "data/tiny/experiments/E/checkpoint.pt"
    proc = subprocess.Popen(_train_cmd(cut, exp, 2), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # kill the job once a middle checkpoint is written
        if ckpt.is_file() and torch.load(ckpt, weights_only=True)["step"] in (2, 4):
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = torch.load(ckpt, weights_only=True)
    assert not partial["finished"], "the job finished before it could be killed; the test needs more steps"
    again = _run(_train_cmd(cut, exp, 2))
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = weights(ckpt), weights(full / "data/tiny/experiments/E/checkpoint.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_uneven_global_batch_is_refused_before_training(tmp_path: Path) -> None:
    make_study(tmp_path, steps=2, every=2)
    prof = tmp_path / "params/profiles/tiny.yaml"
    prof.write_text(prof.read_text(encoding="utf-8").replace("batch_size: 2", "batch_size: 3"), encoding="utf-8")
    r = _run(_train_cmd(tmp_path, _experiment(tmp_path, "E", "unet"), 2))
    assert r.returncode != 0
    assert "training.batch_size: a global batch of 3 does not split evenly over 2 processes" in r.stderr
    assert not (tmp_path / "data/tiny/experiments/E/checkpoint.pt").exists()


def test_read_ahead_workers_change_nothing_but_the_speed(tmp_path: Path) -> None:
    """``training.loader_workers`` reads the next steps' tiles in threads: the same weights as reading in the loop."""
    from landslide_utils.config.schema import Experiment
    from landslide_utils.training import experiment as train_mod

    profile = make_study(tmp_path, steps=3, every=3)
    plain = train_mod.train_experiment(profile, Experiment(name="A", model="unet", channels="rgb",
                                                           training_data="original+be"), root=tmp_path,
                                       progress=False)
    ahead = profile.model_copy(update={"training": profile.training.model_copy(update={"loader_workers": 2})})
    read_ahead = train_mod.train_experiment(ahead, Experiment(name="B", model="unet", channels="rgb",
                                                              training_data="original+be"), root=tmp_path,
                                            progress=False)
    a, b = weights(plain.checkpoint), weights(read_ahead.checkpoint)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_processes_for_splits_every_batch_evenly() -> None:
    from landslide_utils.training.distributed import processes_for

    assert processes_for([2, 4, 8], devices=8) == 2  # the paper profile's batch of 2 on an 8-GPU node
    assert processes_for([4, 8], devices=8) == 4
    assert processes_for([6], devices=4) == 3
    assert processes_for([5], devices=0) == 1
