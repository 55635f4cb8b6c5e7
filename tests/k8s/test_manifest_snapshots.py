"""The rendered files as snapshots: a change to them is deliberate and shows in review.
Update with DOCKML_UPDATE_SNAPSHOTS=1 after such a change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockml.k8s import render_chart, render_manifests
from k8s_cases import CASES

SNAPSHOTS = Path(__file__).parent / "snapshots"
RENDERINGS = {
    **{f"manifests-{case}": (lambda spec=spec: render_manifests(spec)) for case, spec in CASES.items()},
    "chart-default": lambda: render_chart(CASES["default"]),
    "chart-kserve": lambda: render_chart(CASES["kserve"]),
}


@pytest.mark.parametrize("name", RENDERINGS)
def test_matches_the_snapshot(name):
    files = RENDERINGS[name]()
    folder = SNAPSHOTS / name
    if os.environ.get("DOCKML_UPDATE_SNAPSHOTS"):
        for old in folder.rglob("*"):
            if old.is_file():
                old.unlink()
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
    stored = {str(path.relative_to(folder)): path.read_text() for path in sorted(folder.rglob("*")) if path.is_file()}
    assert stored == files, "run with DOCKML_UPDATE_SNAPSHOTS=1 after a deliberate change"
