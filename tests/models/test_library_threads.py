"""A worker forked after the models loaded can predict with an OpenMP library: loading never
starts a thread pool, which a fork would leave behind (the worker's first prediction would wait
forever), even for a library that first loads while the models load."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# In a fresh interpreter: scikit-learn's OpenMP runtime must load inside one_while_loading, as it
# does in `dockml serve`, where nothing imports scikit-learn before the first model needs it.
FORKED_WORKER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from dockml.config import model_spec
    from dockml.models import library_threads, load_model

    rows = np.random.default_rng(1).random((5000, 3))
    with library_threads.one_while_loading():
        loaded = load_model(model_spec(sys.argv[1]), trust_pickle=True, runtime="sklearn")
        loaded.runtime.predict(rows)  # what a parity check does in the loading process
    assert "OMP_NUM_THREADS" not in os.environ  # as it was before loading

    pid = os.fork()
    if pid == 0:
        library_threads.use(2, [loaded.runtime])
        loaded.runtime.predict(rows)
        os._exit(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("worker answered" if status == 0 else f"worker failed: {status}")
            sys.exit(0)
        time.sleep(0.05)
    os.kill(pid, 9)
    print("worker hung")
    """
)


def test_a_worker_forked_after_loading_predicts_with_openmp(tmp_path: Path) -> None:
    train = textwrap.dedent(
        """
        import sys, joblib, numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
        rows = np.random.default_rng(0).random((400, 3))
        model = HistGradientBoostingClassifier(max_iter=10).fit(rows, (rows[:, 0] > 0.5).astype(int))
        joblib.dump(model, sys.argv[1])
        """
    )
    model = tmp_path / "hgb.joblib"
    subprocess.run([sys.executable, "-c", train, str(model)], check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-c", FORKED_WORKER, str(model)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip() == "worker answered", result.stderr[-2000:]
