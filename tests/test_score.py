"""`dockml score` (offline, chunked) and `dockml predict` (against a running server)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

import trained
from dockml.config import load_settings
from dockml.errors import InvalidInput, MalformedInput
from dockml.score import score_file
from dockml.service import ModelService, load_registry

IRIS = ["s_length", "s_width", "p_length", "p_width"]
IRIS_CSV = "s_length,s_width,p_length,p_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n"


def service_for(model: Path | str) -> ModelService:
    settings = load_settings(config_file=None, model_arguments=[str(model)], flags={"workers": 1}, environ={})
    (service,) = load_registry(settings)
    return service


@pytest.fixture(scope="module")
def iris(demo_models: dict[str, Path]) -> ModelService:
    return service_for(demo_models["iris"])


def predictions(path: Path) -> list[str]:
    return [row["prediction"] for row in csv.DictReader(io.StringIO(path.read_text()))]


def dockml(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockml", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )


# dockml score


def test_output_is_what_predict_file_answers_in_csv(iris, iris_client, tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(IRIS_CSV)
    # One chunk, as the server predicts the upload in one call: ONNX Runtime's float32 sums can
    # differ in the last bits with the batch size, and here even those must match.
    report = score_file(iris, str(source), str(target), proba=True)
    assert report.rows == 3
    files = {"file": ("in.csv", IRIS_CSV.encode(), "text/csv")}
    answer = iris_client.post("/predict_file?proba=true", files=files, headers={"accept": "text/csv"})
    assert target.read_text() == answer.text
    assert not (tmp_path / "out.csv.partial").exists()


def test_header_in_any_order_or_no_header(iris, tmp_path):
    rows = [line.split(",") for line in IRIS_CSV.splitlines()[1:]]
    reordered = "p_width,p_length,s_width,s_length\n" + "".join(",".join(r[::-1]) + "\n" for r in rows)
    headerless = "".join(",".join(r) + "\n" for r in rows)
    outputs = []
    for name, text in (("reordered", reordered), ("headerless", headerless)):
        (tmp_path / f"{name}.csv").write_text(text)
        score_file(iris, str(tmp_path / f"{name}.csv"), str(tmp_path / f"{name}.out.csv"))
        outputs.append(predictions(tmp_path / f"{name}.out.csv"))
    assert outputs == [["setosa", "virginica", "versicolor"]] * 2


def test_a_bad_value_names_its_line_in_the_whole_file_and_leaves_no_output(iris, tmp_path):
    lines = ["s_length,s_width,p_length,p_width"] + ["5.1,3.5,1.4,0.2"] * 2500
    lines[2345] = "5.1,oops,1.4,0.2"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInput, match="line 2346: feature 's_width': expected a number, got 'oops'"):
        score_file(iris, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), chunk_rows=1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", MalformedInput, "has no rows"),
        ("s_length,s_width,p_length,p_width\n", InvalidInput, "header but no data rows"),
        ("s_length,s_width,p_length\n1,2,3\n", InvalidInput, "missing feature 'p_width'"),
        ("1,2,3\n", InvalidInput, "no header and 3 columns"),
        (b"s_length\xff\n", MalformedInput, "not UTF-8"),
    ],
)
def test_file_level_errors(iris, tmp_path, text, error, message):
    source = tmp_path / "in.csv"
    source.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(error, match=message):
        score_file(iris, str(source), str(tmp_path / "out.csv"))


def test_string_features(tmp_path):
    service = service_for(trained.categorical_pipeline_skops(tmp_path))
    (tmp_path / "in.csv").write_text("city,age,income\nparis,30,40\nlyon,50,30\n")
    score_file(service, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"))
    assert predictions(tmp_path / "out.csv") == ["yes", "no"]
    (tmp_path / "bad.csv").write_text("city,age,income\nrome,30,40\n")
    with pytest.raises(InvalidInput, match="line 2: feature 'city': unknown category 'rome'"):
        score_file(service, str(tmp_path / "bad.csv"), str(tmp_path / "out.csv"))


def test_parquet_in_and_out(iris, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    rows = [line.split(",") for line in IRIS_CSV.splitlines()[1:]]
    table = pa.table({name: [float(r[i]) for r in rows] for i, name in enumerate(IRIS)})
    pq.write_table(table, tmp_path / "in.parquet")
    (tmp_path / "in.csv").write_text(IRIS_CSV)
    score_file(iris, str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), proba=True, chunk_rows=2)
    score_file(iris, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), proba=True)
    from_parquet = pq.read_table(tmp_path / "out.parquet").to_pylist()
    from_csv = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert (
        [r["prediction"] for r in from_parquet]
        == [r["prediction"] for r in from_csv]
        == ["setosa", "virginica", "versicolor"]
    )
    assert [r["proba_virginica"] for r in from_parquet] == pytest.approx(
        [float(r["proba_virginica"]) for r in from_csv]
    )
    pq.write_table(pa.table({"s_length": [1.0]}), tmp_path / "narrow.parquet")
    with pytest.raises(InvalidInput, match="missing feature 's_width'"):
        score_file(iris, str(tmp_path / "narrow.parquet"), str(tmp_path / "x.csv"))


@pytest.mark.slow
def test_cli_score_from_stdin_to_stdout_and_errors(demo_models, tmp_path):
    result = dockml("score", str(demo_models["iris"]), "-", "-o", "-", stdin=IRIS_CSV)
    assert result.returncode == 0, result.stderr
    assert [r["prediction"] for r in csv.DictReader(io.StringIO(result.stdout))] == [
        "setosa",
        "virginica",
        "versicolor",
    ]
    result = dockml("score", str(demo_models["iris"]), "-", "-o", str(tmp_path / "out.csv"), stdin="s_length\n1\n")
    assert result.returncode == 1 and "missing feature 's_width'" in result.stderr and "Traceback" not in result.stderr
    result = dockml("score", str(demo_models["iris"]), str(tmp_path / "none.csv"), "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 1 and "cannot read" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_cli_score_progress_line(demo_models, tmp_path):
    (tmp_path / "in.csv").write_text(IRIS_CSV)
    result = dockml(
        "score", str(demo_models["iris"]), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--progress"
    )
    assert result.returncode == 0, result.stderr
    assert "scored 3 rows (100%)" in result.stderr and f"-> {tmp_path / 'out.csv'}" in result.stderr


# The child reports its own high-water mark: its rusage would count the pytest process it was forked from.
_PEAK = (
    "import sys; from dockml.cli import main; code = main(sys.argv[1:]); "
    "sys.stderr.write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))); sys.exit(code)"
)


def peak_rss_mib(args: list[str]) -> float:
    """Run the dockml command line with ARGS and return its peak resident memory (Linux's VmHWM)."""
    result = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stderr.rsplit("VmHWM:", 1)[1].split()[0]) / 1024


@pytest.mark.slow
def test_a_million_rows_in_flat_memory_match_post_predict_row_by_row(server_factory, demo_models, tmp_path, capsys):
    """The bound: scoring 1,000,000 rows peaks within 32 MiB of scoring 10,000 (and under 256 MiB)."""
    # The server first: loading the model fills the compile cache, so both runs below load the same way.
    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    rows = 1_000_000
    rng = np.random.default_rng(0)
    data = np.round(rng.uniform([4.3, 2.0, 1.0, 0.1], [7.9, 4.4, 6.9, 2.5], size=(rows, 4)), 1)
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    np.savetxt(big, data, fmt="%.1f", delimiter=",", header=",".join(IRIS), comments="")
    np.savetxt(small, data[:10_000], fmt="%.1f", delimiter=",", header=",".join(IRIS), comments="")

    model = str(demo_models["iris"])
    baseline = peak_rss_mib(["score", model, str(small), "-o", str(tmp_path / "small.out.csv"), "--proba"])
    started = time.perf_counter()
    peak = peak_rss_mib(["score", model, str(big), "-o", str(tmp_path / "big.out.csv"), "--proba"])
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\ndockml score: {rows:,} rows ({big.stat().st_size / 2**20:.1f} MiB of CSV) in {seconds:.1f} s, "
            f"peak RSS {peak:.1f} MiB; 10,000 rows: {baseline:.1f} MiB"
        )
    assert peak - baseline < 32 and peak < 256

    # Row by row against the running server's POST /predict, in batches of 20,000 rows.
    with (tmp_path / "big.out.csv").open(newline="") as file, httpx.Client(base_url=server.url, timeout=60) as http:
        reader = csv.reader(file)
        header = next(reader)
        assert header == [*IRIS, "prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
        checked = 0
        while True:
            batch = list(itertools.islice(reader, 20_000))
            if not batch:
                break
            instances = [[float(v) for v in row[:4]] for row in batch]
            assert instances == data[checked : checked + len(batch)].tolist()
            answer = http.post("/predict?proba=true", json={"instances": instances}).json()
            assert [row[4] for row in batch] == answer["predictions"]
            # Within float32 rounding: the batch sizes differ, and so can ONNX Runtime's sums.
            scored = np.array([[float(v) for v in row[5:]] for row in batch])
            served = np.array([[p[c] for c in ("setosa", "versicolor", "virginica")] for p in answer["probabilities"]])
            assert scored.shape == served.shape and np.abs(scored - served).max() <= 1e-6
            checked += len(batch)
    assert checked == rows


# dockml predict


def test_help_lists_both_commands():
    listed = dockml("--help").stdout
    assert "predict   ask a running dockml server" in listed and "score     score a CSV or Parquet file" in listed
    assert "--chunk-rows" in dockml("score", "--help").stdout and "--image" in dockml("predict", "--help").stdout


def test_cli_predict_against_a_real_server(server_factory, demo_models, tmp_path):
    from sklearn.datasets import load_digits

    from dockml.demos import render_digit

    server = server_factory([f"iris={demo_models['iris']}", f"digits={demo_models['digits']}", "--workers", "1"])
    record = json.dumps({"s_length": 5.1, "s_width": 3.5, "p_length": 1.4, "p_width": 0.2})
    result = dockml("predict", server.url, "--data", record)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"predictions": ["setosa"]}
    (tmp_path / "in.csv").write_text(IRIS_CSV)
    body = json.loads(dockml("predict", server.url, "--file", str(tmp_path / "in.csv"), "--proba").stdout)
    assert body["predictions"] == ["setosa", "virginica", "versicolor"] and len(body["probabilities"]) == 3
    digits = load_digits()
    (tmp_path / "digit.png").write_bytes(render_digit(digits.images[5]))
    body = json.loads(dockml("predict", server.url, "--image", str(tmp_path / "digit.png"), "--model", "digits").stdout)
    assert body == {"predictions": [int(digits.target[5])]}
    piped = dockml("predict", server.url, "--data", "-", stdin=json.dumps({"instances": [[6.7, 3.0, 5.2, 2.3]]}))
    assert json.loads(piped.stdout) == {"predictions": ["virginica"]}


def test_cli_predict_errors(server_factory, demo_models):
    from servers import free_port

    server = server_factory([str(demo_models["iris"]), "--workers", "1"])
    result = dockml("predict", server.url, "--data", '{"s_length": 5.1}')
    assert (
        result.returncode == 1
        and "dockml: error: 422: " in result.stderr
        and "missing feature 's_width'" in result.stderr
    )
    result = dockml("predict", server.url, "--data", "{nope")
    assert result.returncode == 2 and "--data is not valid JSON" in result.stderr
    result = dockml("predict", f"http://127.0.0.1:{free_port()}", "--data", "{}", "--retries", "0")
    assert result.returncode == 1 and "cannot reach the dockml server" in result.stderr
    assert "Traceback" not in result.stderr
