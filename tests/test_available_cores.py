"""Workers follow the container's CPU limit: available_cores() reads the cgroup CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockml import config
from dockml.config import available_cores, cgroup_cpu_limit, load_settings

AFFINITY = len(os.sched_getaffinity(0))


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota: int, period: int = 100_000, folder: str = "cpu") -> Path:
    (root / folder).mkdir(parents=True)
    (root / folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (root / folder / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


@pytest.mark.parametrize(
    ("cpu_max", "cpus"),
    [
        ("200000 100000", 2),
        ("100000 100000", 1),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("1000 100000", 1),
        ("400000 200000", 2),
        ("max 100000", None),
        ("max", None),
    ],
)
def test_cgroup_v2_quota_in_whole_cpus_rounded_up(tmp_path: Path, cpu_max: str, cpus: int | None):
    assert cgroup_cpu_limit(cgroup_v2(tmp_path, cpu_max)) == cpus


@pytest.mark.parametrize(("quota", "period", "cpus"), [(300_000, 100_000, 3), (25_000, 50_000, 1), (-1, 100_000, None)])
def test_cgroup_v1_quota(tmp_path: Path, quota: int, period: int, cpus: int | None):
    assert cgroup_cpu_limit(cgroup_v1(tmp_path, quota, period)) == cpus


def test_cgroup_v1_combined_controller_folder(tmp_path: Path):
    assert cgroup_cpu_limit(cgroup_v1(tmp_path, 200_000, folder="cpu,cpuacct")) == 2


def test_no_cgroup_files_means_no_limit(tmp_path: Path):
    assert cgroup_cpu_limit(tmp_path) is None


def test_cgroup_v2_wins_over_v1(tmp_path: Path):
    cgroup_v1(tmp_path, 300_000)
    assert cgroup_cpu_limit(cgroup_v2(tmp_path, "100000 100000")) == 1


def test_a_cpu_limit_caps_the_cores(tmp_path: Path):
    assert available_cores(cgroup_v2(tmp_path, "100000 100000")) == 1


def test_a_limit_above_the_cpus_changes_nothing(tmp_path: Path):
    assert available_cores(cgroup_v2(tmp_path, f"{(AFFINITY + 8) * 100_000} 100000")) == AFFINITY


def test_without_a_limit_the_cpus_this_process_may_use(tmp_path: Path):
    assert available_cores(tmp_path) == AFFINITY


def test_zero_workers_means_one_per_cpu_of_the_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(config, "cgroup_cpu_limit", lambda root=None: 1)
    assert load_settings(config_file=None, model_arguments=[], flags={}, environ={}).workers == 1
