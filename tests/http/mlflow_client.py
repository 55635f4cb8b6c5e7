"""MLflow's side of the MLflow tests, run with the Python of a venv of its own (tests/http/conftest.py):

    python tests/http/mlflow_client.py save FOLDER          train two iris models, save them as MLflow models
    python tests/http/mlflow_client.py client URL           MLflow's ScoringServerClient against URL
    python tests/http/mlflow_client.py payloads URL KIND    MLflow's documented payloads for the named or
                                                            unnamed model, POSTed to URL

`save` writes FOLDER/named (trained on a DataFrame with column names, saved with a signature) and
FOLDER/unnamed (trained on a bare array, as `pd.DataFrame(X)` payloads expect), each with the
plain pickle dockml can load. The others print what they saw as JSON.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

COLUMNS = ["s_length", "s_width", "p_length", "p_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def save(folder: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    x, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(x, columns=COLUMNS)
    named = LogisticRegression(max_iter=1000).fit(frame, y)
    signature = infer_signature(frame, named.predict(frame))
    mlflow.sklearn.save_model(named, folder / "named", serialization_format="pickle", signature=signature)
    unnamed = LogisticRegression(max_iter=1000).fit(x, y)
    mlflow.sklearn.save_model(unnamed, folder / "unnamed", serialization_format="pickle")


def client(url: str) -> dict[str, object]:
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    host, port = url.removeprefix("http://").split(":")
    default = ScoringServerClient(host, port)
    default.wait_server_ready(timeout=30)
    default.ping()
    frame = pd.DataFrame(ROWS)  # columns 0..3: a frame built from a bare array, for the unnamed model
    seen: dict[str, object] = {
        "version": default.get_version(),
        "dataframe": default.invoke(frame).get_predictions().iloc[:, 0].tolist(),
        "numpy": default.invoke(np.array(ROWS)).get_predictions().iloc[:, 0].tolist(),
    }
    # A named model: the client's routes under /models/NAME (ping, invocations).
    named = ScoringServerClient(host, port)
    named.url_prefix = f"{url}/models/named"
    named.wait_server_ready(timeout=30)
    columns = {name: [row[i] for row in ROWS] for i, name in enumerate(COLUMNS)}
    # MLflow 3.17's invoke(dict) cannot send a dict (dump_input_data iterates it as pairs, `for k, v
    # in data`); the body it means to send, {"inputs": {name: values}}, goes through invoke as text.
    try:
        seen["named_dict_as_is"] = named.invoke(columns).get_predictions().iloc[:, 0].tolist()
    except ValueError:
        seen["named_dict_as_is"] = "mlflow cannot send it"
    dict_body = json.dumps({"inputs": columns})
    seen["named_dict"] = named.invoke(dict_body).get_predictions().iloc[:, 0].tolist()
    seen["named_list"] = named.invoke(ROWS).get_predictions().iloc[:, 0].tolist()
    seen["named_dataframe"] = named.invoke(pd.DataFrame(ROWS, columns=COLUMNS)).get_predictions().iloc[:, 0].tolist()
    missing = ScoringServerClient(host, port)
    missing.url_prefix = f"{url}/models/nothing"
    try:
        missing.wait_server_ready(timeout=1)
        seen["missing_model_ready"] = True
    except RuntimeError:
        seen["missing_model_ready"] = False
    return seen


def payloads(kind: str) -> dict[str, tuple[str, bytes]]:
    """MLflow's documented request bodies (docs: "Deploy MLflow Model as a Local Inference Server"),
    and the ones its input rules accept beyond dockml's own routes; for the unnamed model, the
    columns are those of `pd.DataFrame(X)`: 0, 1, 2, 3."""
    columns: list[object] = list(COLUMNS) if kind == "named" else list(range(len(COLUMNS)))
    frame = pd.DataFrame(ROWS, columns=columns)
    records = frame.to_dict(orient="records")
    split = json.loads(frame.to_json(orient="split"))
    parquet = io.BytesIO()
    frame.columns = [str(column) for column in columns]  # Parquet wants text labels
    frame.to_parquet(parquet)
    as_text = [{key: str(value) for key, value in record.items()} for record in records]
    with_extra = {"columns": [*columns, "comment"], "data": [[*row, "extra"] for row in ROWS]}

    def body(value: object) -> tuple[str, bytes]:
        return "application/json", json.dumps(value).encode()

    return {
        "dataframe_split": body({"dataframe_split": {"columns": columns, "data": ROWS}}),
        "dataframe_split with index": body({"dataframe_split": split}),
        "dataframe_records": body({"dataframe_records": records}),
        "instances": body({"instances": ROWS}),
        "inputs rows": body({"inputs": ROWS}),
        "inputs columns": body({"inputs": {str(name): [row[i] for row in ROWS] for i, name in enumerate(columns)}}),
        "params beside": body({"dataframe_split": {"columns": columns, "data": ROWS}, "params": {}}),
        "csv": ("text/csv", pd.DataFrame(ROWS, columns=columns).to_csv(index=False).encode()),
        "csv with index": ("text/csv", pd.DataFrame(ROWS, columns=columns).to_csv().encode()),
        "extra column": body({"dataframe_split": with_extra}),
        "numbers as text": body({"dataframe_records": as_text}),
        "parquet": ("application/vnd.apache.parquet", parquet.getvalue()),
    }


def post_payloads(url: str, kind: str) -> dict[str, object]:
    seen: dict[str, object] = {}
    for name, (content_type, data) in payloads(kind).items():
        response = requests.post(url, data=data, headers={"Content-Type": content_type}, timeout=30)
        answer = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        seen[name] = {"status": response.status_code, "body": answer if answer is not None else response.text[:300]}
    return seen


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "save":
        save(Path(argument))
    elif command == "client":
        print(json.dumps(client(argument)))
    else:
        print(json.dumps(post_payloads(argument, sys.argv[3])))
