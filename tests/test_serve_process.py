"""`dockml serve` as a real process on 127.0.0.1, driven over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import trained

IRIS_QUERY = "s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2"


def test_no_model_serves_both_demos(server_factory, demo_models):
    server = server_factory([])
    assert httpx.get(f"{server.url}/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    models = httpx.get(f"{server.url}/models").json()["models"]
    assert [m["name"] for m in models] == ["iris", "digits"]
    assert httpx.get(f"{server.url}/apidocs").status_code == 200
    output = server.output()
    assert f"Swagger UI:  {server.url}/apidocs" in output
    assert f"{server.url}/models/digits/predict_image" in output


def _mapped_files(pid: int) -> str:
    """The files mapped by ``pid`` and its descendants (a worker's imported extension modules)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return Path(f"/proc/{pid}/maps").read_text() + "".join(_mapped_files(int(child)) for child in children)


def test_the_demos_start_from_the_compiled_cache_without_scikit_learn(server_factory, demo_models):
    # The first start compiles the demos (with scikit-learn); the next one must not load it, nor
    # SciPy: with them, serving the demos took 2.1 s to start and 670 MB instead of 0.75 s and 375.
    server_factory(["--workers", "2"]).stop()
    server = server_factory(["--workers", "2"])
    assert httpx.get(f"{server.url}/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    mapped = _mapped_files(server.process.pid)
    assert "/onnxruntime/" in mapped  # what it does load, so the check reads the right processes
    assert "/sklearn/" not in mapped and "/scipy/" not in mapped


def test_the_images_healthcheck_asks_readiness_and_loads_no_other_command(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"])])
    healthcheck = [sys.executable, "-X", "importtime", "-m", "dockml.cli.health"]  # the image's HEALTHCHECK
    ready = subprocess.run([*healthcheck, "--url", f"{server.url}/health/ready"], capture_output=True, text=True)
    assert ready.returncode == 0, ready.stderr[-500:]
    loaded = {line.rsplit("|", 1)[-1].strip() for line in ready.stderr.splitlines() if line.startswith("import time")}
    assert {"dockml.cli", "urllib.request"} <= loaded  # (the module itself runs as __main__)
    assert not loaded & {"dockml.config", "dockml.cli.serve", "dockml.cli.build", "numpy"}
    server.stop()
    down = subprocess.run(
        [*healthcheck[:1], "-m", "dockml.cli.health", "--url", f"{server.url}/health/ready"],
        capture_output=True,
        text=True,
    )
    assert down.returncode == 1
    assert "dockml: not ready:" in down.stderr


def test_tutorial_urls_on_the_iris_model_alone(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"])])
    assert httpx.get(f"{server.url}/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    files = {"file": ("iris.csv", b"s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv")}
    response = httpx.post(f"{server.url}/predict_file", files=files)
    assert response.json() == {"predictions": ["setosa", "virginica"]}
    output = server.output()
    assert f"GET|POST {server.url}/predict" in output


def test_two_workers_both_answer(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"]), "--workers", "2"])
    with httpx.Client() as client:
        for _ in range(20):
            assert client.get(f"{server.url}/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    # Both workers write to the shared metrics folder; /metrics adds them up.
    text = httpx.get(f"{server.url}/metrics").text
    assert 'dockml_requests_total{model="iris",route="predict",status="200"} 20.0' in text


def test_predict_counts_are_exact_in_metrics_after_concurrent_requests(server_factory, demo_models):
    """Workers add up the predict route's counts and write them when idle (or every 0.1 s under
    load): once every answer has arrived, /metrics holds every one of them."""
    from concurrent.futures import ThreadPoolExecutor

    server = server_factory([str(demo_models["iris"]), "--workers", "2"])
    body = {"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2}

    def send(count: int) -> list[int]:
        with httpx.Client() as client:
            return [client.post(f"{server.url}/predict", json=body).status_code for _ in range(count)]

    with ThreadPoolExecutor(16) as pool:
        statuses = [status for batch in pool.map(send, [25] * 16) for status in batch]
    assert statuses == [200] * 400
    text = httpx.get(f"{server.url}/metrics").text
    assert 'dockml_requests_total{model="iris",route="predict",status="200"} 400.0' in text
    assert 'dockml_request_duration_seconds_count{model="iris",route="predict"} 400.0' in text
    assert 'dockml_request_duration_seconds_bucket{le="+Inf",model="iris",route="predict"} 400.0' in text


@pytest.mark.parametrize("library", ["scikit-learn", "xgboost", "catboost"])
def test_workers_forked_after_a_threaded_library_loaded_answer(server_factory, tmp_path, library):
    """OpenMP models served by their own library (HistGradientBoosting, XGBoost) once hung every
    forked worker: the loading process had started OpenMP's thread pool, which a fork does not keep.
    (CatBoost has a pool of its own.)"""
    import joblib
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    if library in ("xgboost", "catboost"):
        path = trained.xgboost_json(tmp_path) if library == "xgboost" else trained.catboost_categories_cbm(tmp_path)
        flags, body = [], {"age": 30, "income": 70.0, "city": "lyon"}
    else:
        rows = np.random.default_rng(0).random((400, 3))
        model = HistGradientBoostingClassifier(max_iter=20).fit(rows, (rows[:, 0] > 0.5).astype(int))
        path, flags, body = tmp_path / "hgb.joblib", ["--trust-pickle"], {"x0": 0.9, "x1": 0.1, "x2": 0.5}
        joblib.dump(model, path)
    server = server_factory([str(path), "--runtime", "sklearn", "--workers", "2", *flags])
    with httpx.Client() as client:
        for _ in range(10):  # connections spread over both workers
            assert client.post(f"{server.url}/predict", json=body, headers={"connection": "close"}).json() == {
                "predictions": [1]
            }


def test_server_survives_garbage(server_factory, demo_models):
    server = server_factory([str(demo_models["iris"])])
    with httpx.Client() as client:
        assert (
            client.post(
                f"{server.url}/predict", content=b"\x00\xff{", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        assert (
            client.post(
                f"{server.url}/predict_file",
                content=b"garbage",
                headers={"content-type": "multipart/form-data; boundary=zz"},
            ).status_code
            == 400
        )
        assert client.get(f"{server.url}/predict?{IRIS_QUERY}").status_code == 200


def test_pickle_is_refused_without_trust(tmp_path):
    path = trained.iris_pickle(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "serve", str(path), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "runs any code" in result.stderr and "--trust-pickle" in result.stderr
    assert "Traceback" not in result.stderr


def test_pickle_served_with_trust(server_factory, tmp_path):
    path = trained.iris_pickle(tmp_path)
    server = server_factory([str(path), "--trust-pickle"])
    assert httpx.get(f"{server.url}/predict?x0=5.1&x1=3.5&x2=1.4&x3=0.2").json() == {"predictions": [0]}


def test_trust_pickle_from_the_environment(server_factory, tmp_path):
    path = trained.iris_pickle(tmp_path)
    server = server_factory([str(path)], env={"DOCKML_TRUST_PICKLE": "1"})
    assert httpx.get(f"{server.url}/health/ready").status_code == 200


def test_missing_model_file_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dockml", "serve", str(tmp_path / "nope.onnx")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"dockml: error: model file not found: {tmp_path / 'nope.onnx'}"


def test_regression_and_pipeline_models_side_by_side(server_factory, tmp_path):
    linear = trained.regression_skops(tmp_path)
    loans = trained.categorical_pipeline_skops(tmp_path)
    server = server_factory([f"linear={linear}", f"loans={loans}"])
    value = httpx.get(f"{server.url}/models/linear/predict?a=1&b=0.5").json()["predictions"][0]
    assert abs(value - (3 * 1 - 2 * 0.5 + 1)) < 1e-6
    body = httpx.post(
        f"{server.url}/models/loans/predict?proba=true",
        json=[{"age": 30, "income": 40, "city": "paris"}, {"age": 30, "income": 40, "city": "nice"}],
    ).json()
    assert body["predictions"] == ["yes", "no"]
    assert set(body["probabilities"][0]) == {"no", "yes"}
    response = httpx.get(f"{server.url}/models/loans/predict?age=30&income=40&city=rome")
    assert response.status_code == 422
    assert "unknown category 'rome'; expected one of lyon, nice, paris" in response.json()["detail"]


def test_onnx_model(server_factory, tmp_path):
    path = trained.iris_onnx(tmp_path)
    server = server_factory([str(path)])
    body = httpx.get(f"{server.url}/predict?{IRIS_QUERY}&proba=true").json()
    assert body["predictions"] == ["setosa"]
    assert httpx.get(f"{server.url}/models/iris_lr").json()["runtime"] == "onnx"


def test_config_file_names_and_describes_a_model(server_factory, tmp_path):
    path = trained.iris_pickle(tmp_path)
    config = tmp_path / "dockml.toml"
    config.write_text(
        "[server]\ntrust_pickle = true\n\n"
        f'[models.flowers]\npath = "{path.name}"\ndescription = "Iris from a config file"\n'
        'feature_names = ["s_length", "s_width", "p_length", "p_width"]\n'
        'class_names = ["setosa", "versicolor", "virginica"]\n'
    )
    server = server_factory(["--config", str(config)])
    assert httpx.get(f"{server.url}/predict?{IRIS_QUERY}").json() == {"predictions": ["setosa"]}
    assert httpx.get(f"{server.url}/models/flowers").json()["description"] == "Iris from a config file"


def _unloadable_pickle(folder):
    """A pickle of a class that exists only in the process that wrote it: unpickling fails."""
    source = folder / "write.py"
    source.write_text(
        "import joblib\n"
        "class Fitted:\n"
        "    def predict(self, X):\n"
        "        return X\n"
        f"joblib.dump(Fitted(), {str(folder / 'custom.joblib')!r})\n"
    )
    subprocess.run([sys.executable, str(source)], check=True, timeout=60)
    return folder / "custom.joblib"


def _serve(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "dockml", "serve", *args, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_a_model_that_cannot_load_stops_the_start_in_one_line(tmp_path):
    path = _unloadable_pickle(tmp_path)
    result = _serve(f"custom={path}", "--trust-pickle")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"dockml: error: cannot serve model 'custom' ({path}): AttributeError")
    assert "--log-level debug" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "serving" not in result.stdout


@pytest.mark.slow
def test_the_traceback_of_a_failed_start_is_shown_at_debug_level(tmp_path):
    result = _serve(f"custom={_unloadable_pickle(tmp_path)}", "--trust-pickle", "--log-level", "debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


@pytest.mark.slow
def test_the_log_level_setting_comes_from_the_environment_too(tmp_path):
    result = _serve(f"custom={_unloadable_pickle(tmp_path)}", "--trust-pickle", env={"DOCKML_LOG_LEVEL": "debug"})
    assert result.returncode == 2
    assert "Traceback" in result.stderr


@pytest.mark.slow
def test_a_model_that_fails_on_its_own_example_row_stops_before_serving(tmp_path):
    path = trained.regression_skops(tmp_path)
    (tmp_path / "linear.dockml.toml").write_text('[inputs.a]\nexample = "not a number"\n')
    result = _serve(str(path))
    assert result.returncode == 2
    assert "cannot serve model 'linear'" in result.stderr
    assert "example" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "serving" not in result.stdout


def test_a_second_server_on_a_taken_port_stops_with_a_clear_message(server_factory, demo_models):
    """SO_REUSEPORT once let a second `dockml serve` share the port silently: requests were split
    between the two servers' models."""
    first = server_factory([str(demo_models["iris"]), "--workers", "2"])
    port = first.url.rsplit(":", 1)[1]
    for workers in ("2", "1"):
        second = subprocess.run(
            [sys.executable, "-m", "dockml", "serve", str(demo_models["digits"]), "--workers", workers, "--port", port],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr
        assert "is another server running there?" in second.stderr
        assert "serving" not in second.stdout
    models = {httpx.get(f"{first.url}/models").json()["models"][0]["name"] for _ in range(10)}
    assert models == {"iris"}


def test_the_banner_cuts_a_long_input_list_between_names(server_factory, demo_models):
    server = server_factory([str(demo_models["digits"]), "--workers", "1"])
    (line,) = [line for line in server.output().splitlines() if "model 'digits'" in line]
    assert "inputs: pixel_0_0, pixel_0_1," in line
    assert line.endswith(" more))")
    assert ", ... (" in line


@pytest.mark.slow
def test_the_first_start_says_it_is_training_the_demos(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from dockml.cli import main; main(['serve', '--port', '1', '--host', '256.0.0.1'])"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOCKML_HOME": str(tmp_path)},
    )
    assert "training the demo model 'iris' (first start only" in result.stderr


def test_a_model_trained_without_names_gets_a_hint_to_name_its_inputs(server_factory, tmp_path):
    import numpy as np
    import skops.io
    from sklearn.linear_model import LinearRegression

    rows = np.random.default_rng(0).normal(size=(50, 3))
    path = tmp_path / "bare.skops"
    skops.io.dump(LinearRegression().fit(rows, rows.sum(axis=1)), path)
    server = server_factory([str(path), "--workers", "1"])
    output = server.output()
    assert "inputs: x0, x1, x2" in output
    assert "trained without feature names" in output and "feature_names = [...] in bare.dockml.toml" in output
    server.stop()

    (tmp_path / "bare.dockml.toml").write_text('feature_names = ["a", "b", "c"]\n')
    named = server_factory([str(path), "--workers", "1"])
    assert "inputs: a, b, c" in named.output() and "trained without feature names" not in named.output()


def test_workers_share_metrics_in_shared_memory_and_clean_up(server_factory, demo_models):
    from pathlib import Path

    before = set(Path("/dev/shm").glob("dockml-metrics-*"))
    server = server_factory([str(demo_models["iris"]), "--workers", "2"])
    httpx.get(f"{server.url}/predict?s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2")
    assert 'route="predict"' in httpx.get(f"{server.url}/metrics").text
    # This server's folder: the one holding its workers' files (other servers may run meanwhile).
    workers = _children(server.process.pid)
    assert len(workers) == 2
    (folder,) = [
        found
        for found in set(Path("/dev/shm").glob("dockml-metrics-*")) - before
        if any(file.stem.rpartition("_")[2] in workers for file in found.iterdir())
    ]
    server.stop()
    assert not folder.exists()


def _children(pid: int) -> set[str]:
    from pathlib import Path

    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found.add(stat.parent.name)
    return found


def test_onnx_runtime_records_and_sends_no_telemetry(server_factory, demo_models, tmp_path, monkeypatch):
    """ONNX Runtime 1.29+ wrote a device id under $HOME and sent usage events; where $HOME was not
    writable (a container's user without one) every start logged a warning about it."""
    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)  # this process set it when it imported dockml
    server = server_factory([str(demo_models["iris"]), "--workers", "1"], env={"HOME": str(tmp_path)})
    assert httpx.get(f"{server.url}/models/iris").json()["runtime"] == "onnx"
    httpx.get(f"{server.url}/predict?s_length=5.1&s_width=3.5&p_length=1.4&p_width=0.2")
    assert list(tmp_path.iterdir()) == []
    assert "telemetry" not in server.output()
