"""A short run of the fault harness (``bench/faults.py``; ``make faults`` runs 50 cycles):
random SIGKILLs of rrdcached, gunicorn workers and master, alarmd under long batches."""

from __future__ import annotations

from pathlib import Path

from bench.faults import main


def test_random_kills_under_long_batches_lose_no_sample_and_no_notification(
    tmp_path: Path,
) -> None:
    code = main(
        ["--seed", "1234", "--cycles", "4", "--min-gap", "0.5", "--max-gap", "1.5",
         "--workdir", str(tmp_path / "faults")]
    )  # fmt: skip
    assert code == 0, "see the printed report (lost samples or missing notifications)"
