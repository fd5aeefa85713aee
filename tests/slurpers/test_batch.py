"""The batch source on captured Slurm and HTCondor listings, via fake tools on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from slurpers.batchparse import parse_condor_q, parse_condor_status, parse_sinfo, parse_squeue
from slurpers.sources.batch import BatchOptions, collect
from tests.slurpers.helpers import fake_executable, make_run, path_with, values

DATA = Path(__file__).resolve().parents[1] / "data" / "slurpers"


def test_squeue_output_counts_jobs_by_state_user_and_account() -> None:
    counts = parse_squeue((DATA / "squeue.txt").read_text())
    assert counts.errors == []
    assert counts.states["running"] == 5
    assert counts.states["pending"] == 4
    assert counts.by_user[("alice", "running")] == 3
    assert counts.by_group[("atlas", "pending")] == 2


def test_sinfo_folds_state_flags_into_the_state() -> None:
    nodes, errors = parse_sinfo((DATA / "sinfo.txt").read_text())
    assert errors == []
    assert nodes == {"mixed": 12, "allocated": 30, "idle": 9, "down": 2, "drained": 1}


def test_condor_q_autoformat_output_maps_job_status_codes() -> None:
    counts = parse_condor_q((DATA / "condor_q.txt").read_text())
    assert counts.errors == []
    assert counts.states == {"running": 4, "idle": 3, "held": 1}
    assert counts.by_user[("cms001", "running")] == 2
    assert ("undefined", "idle") not in counts.by_group


def test_condor_status_counts_slots_by_state_and_activity() -> None:
    slots, errors = parse_condor_status((DATA / "condor_status.txt").read_text())
    assert errors == []
    assert slots["claimed_busy"] == 5
    assert slots["unclaimed_idle"] == 2


def test_a_slurm_run_through_fake_tools_gives_all_states_and_owners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_executable(bin_dir, "squeue", f"cat {DATA / 'squeue.txt'}\n")
    fake_executable(bin_dir, "sinfo", f"cat {DATA / 'sinfo.txt'}\n")
    monkeypatch.setenv("PATH", path_with(bin_dir))
    run = make_run(("batch", "farm"))
    got = values(collect(BatchOptions("slurm"), run))
    assert run.problems == []
    assert got["batch.farm.jobs.running"] == 5
    assert got["batch.farm.jobs.suspended"] == 0
    assert got["batch.farm.users.alice.running"] == 3
    assert got["batch.farm.groups.atlas.pending"] == 2
    assert got["batch.farm.nodes.idle"] == 9


def test_an_htcondor_run_reports_a_failing_tool_and_keeps_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_executable(bin_dir, "condor_q", f"cat {DATA / 'condor_q.txt'}\n")
    fake_executable(bin_dir, "condor_status", "echo 'Failed to connect to collector' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", path_with(bin_dir))
    run = make_run(("batch", "pool"))
    got = values(collect(BatchOptions("htcondor", by=("user",)), run))
    assert got["batch.pool.jobs.held"] == 1
    assert got["batch.pool.users.cms001.running"] == 2
    assert not any(".groups." in m or ".slots." in m for m in got)
    assert [p.part for p in run.problems] == ["nodes"]
    assert "Failed to connect" in run.problems[0].message
