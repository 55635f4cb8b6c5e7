"""The README's first calls answer what the README prints: its "With the demo running" block is run
line by line with bash and curl against a real demo server, and each command's output is compared
with the ``# ...`` lines under it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from shell_blocks import Step, steps

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_PORT = "127.0.0.1:5000"


def demo_block(text: str) -> str:
    match = re.search(r"With the demo running:\n\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert match, "README.md: the 'With the demo running:' sh block is gone"
    return match.group(1)


def test_the_block_is_read_as_commands_and_outputs():
    parsed = steps('curl a \\\n  -d b\n# {"x":1}\nprintf c > f\ncurl d   # not an output\n# l1\n# l2')

    assert parsed == [
        Step("curl a \\\n  -d b", '{"x":1}'),
        Step("printf c > f", None),
        Step("curl d   # not an output", "l1\nl2"),
    ]


def test_readme_demo_calls_answer_as_printed(server_factory, demo_models, tmp_path):
    server = server_factory([f"{name}={path}" for name, path in demo_models.items()])
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the block runs from a clone's root
    found = steps(demo_block(README.read_text()))
    assert sum(step.output is not None for step in found) >= 5, "the block shows fewer outputs than it did"
    address = server.url.removeprefix("http://")
    for step in found:
        command = step.command.replace(README_PORT, address)
        result = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{step.command}\nfailed: {result.stderr[-2000:]}"
        if step.output is not None:
            assert result.stdout.strip() == step.output, f"{step.command}\nprints {result.stdout!r}"


@pytest.mark.parametrize("decimals", [5, -1])
def test_probability_decimals_round_what_the_model_gives(server_factory, demo_models, decimals):
    """A compiled forest sums its trees' votes in float32 (0.99 arrives as 0.98999935): answers
    round to 5 places unless told to keep every digit, and are the model's own probabilities."""
    import httpx
    import numpy as np
    import pandas as pd
    import skops.io as sio

    model = sio.load(demo_models["iris"], trusted=sio.get_untrusted_types(file=demo_models["iris"]))
    rows = [[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 5.1, 1.8], [6.3, 2.5, 4.9, 1.5], [5.1, 3.5, 1.4, 0.2]]
    server = server_factory([str(demo_models["iris"]), "--probability-decimals", str(decimals)])
    answer = httpx.post(f"{server.url}/predict?proba=true", json={"instances": rows}).json()
    got = np.array([list(row.values()) for row in answer["probabilities"]])
    want = model.predict_proba(pd.DataFrame(rows, columns=model.feature_names_in_))
    if decimals == 5:
        np.testing.assert_array_equal(got, np.round(want, 5))  # the forest's votes, exactly
        assert all(len(repr(p).split(".")[-1]) <= 5 for p in got.ravel())
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        assert not np.array_equal(got, np.round(want, 5)), "no float32 digits kept: the model was not compiled?"
