"""`dockml score`: a CSV or Parquet file through a model, chunk by chunk, into a CSV or Parquet file.

The model is loaded as `dockml serve` loads it (the same runtime choice, compile cache and
signature) and each chunk is checked by the server's CSV codec, so a file scores as uploading it
to /predict_file would, with the same output columns as its CSV answer (the inputs, then
``prediction`` and, with ``proba``, ``proba_<class>``). Memory is bounded by the chunk size,
not the file size: rows are read, predicted and written one chunk at a time. The output is
written beside the target and renamed into place at the end, so a failed run leaves no half file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from dockml.codecs.csv import column_layout, parse_cells
from dockml.codecs.records import decode_rows
from dockml.codecs.values import check_names, raise_if
from dockml.errors import FieldError, InvalidInput, MalformedInput, MissingDependency, PredictionFailed
from dockml.models.base import Outputs
from dockml.service import ModelService
from dockml.signature import Signature

DEFAULT_CHUNK_ROWS = 10_000
STDIO = "-"
ProgressCallback = Callable[[int, float | None], None]
"""Called after each chunk with the rows scored so far and the fraction of the input read (or None)."""


@dataclass(frozen=True, slots=True)
class ScoreReport:
    rows: int
    seconds: float


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # loads the submodule, used as pyarrow.parquet
    except ImportError:
        raise MissingDependency("Parquet needs pyarrow: install dockml[parquet] (pip install pyarrow)") from None
    return pyarrow


def _is_parquet(path: str) -> bool:
    return path != STDIO and Path(path).suffix.lower() in (".parquet", ".pq")


class _CountingReader(io.RawIOBase):
    """A raw byte stream that counts what was read from it, for the progress fraction."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = self.raw.readinto(buffer)
        self.count += size or 0
        return size or 0


def csv_chunks(stream: IO[bytes], signature: Signature, chunk_rows: int) -> Iterator[np.ndarray]:
    """Tables of at most ``chunk_rows`` rows from a CSV byte stream, by the /predict_file rules
    (a header naming the features in any order, or none and the features in signature order).
    Errors name the line in the whole file."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    layout: tuple[list[int], int, bool] | None = None
    batch: list[tuple[int, list[str]]] = []
    data_rows = 0
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if layout is None:
                    layout = column_layout(cells, signature)
                    if layout[2]:
                        line = reader.line_num + 1
                        continue
                batch.append((line, cells))
                if len(batch) >= chunk_rows:
                    data_rows += len(batch)
                    yield parse_cells(batch, layout[0], layout[1], signature)
                    batch = []
            line = reader.line_num + 1
    except csv.Error as error:
        raise MalformedInput(f"the CSV file cannot be parsed at line {line}: {error}") from None
    except UnicodeDecodeError:
        raise MalformedInput(f"the CSV file is not UTF-8 text (near line {line})") from None
    if layout is None:
        raise MalformedInput("the CSV file has no rows")
    if batch:
        data_rows += len(batch)
        yield parse_cells(batch, layout[0], layout[1], signature)
    if data_rows == 0:
        raise_if([FieldError("rows", "the CSV has a header but no data rows")])


def parquet_chunks(path: Path, signature: Signature, chunk_rows: int) -> Iterator[tuple[np.ndarray, float]]:
    """(table, fraction of the rows read) for every chunk of a Parquet file, checked as JSON rows are."""
    pyarrow = _pyarrow()
    file = pyarrow.parquet.ParquetFile(path)
    raise_if(check_names(signature, file.schema_arrow.names))
    total = max(1, file.metadata.num_rows)
    start = 0
    for batch in file.iter_batches(batch_size=chunk_rows, columns=list(signature.names)):
        columns = [batch.column(name).to_pylist() for name in signature.names]
        try:
            table = decode_rows([list(row) for row in zip(*columns, strict=True)], signature, many=True)
        except InvalidInput as error:
            raise InvalidInput(
                f"in the {batch.num_rows} rows from row {start} on: {error.detail}", error.errors
            ) from None
        start += batch.num_rows
        yield table, start / total


class _CsvSink:
    def __init__(self, stream: IO[str], signature: Signature) -> None:
        self.writer = csv.writer(stream, lineterminator="\n")
        self.signature = signature
        self.started = False

    def write(self, table: np.ndarray, columns: dict[str, list[Any]]) -> None:
        if not self.started:
            self.writer.writerow([*self.signature.names, *columns])
            self.started = True
        outputs = list(columns.values())
        self.writer.writerows(
            [*row, *(column[index] for column in outputs)] for index, row in enumerate(table.tolist())
        )


class _ParquetSink:
    def __init__(self, path: Path, signature: Signature) -> None:
        self.pyarrow = _pyarrow()
        self.path = path
        self.signature = signature
        self.writer: Any = None

    def write(self, table: np.ndarray, columns: dict[str, list[Any]]) -> None:
        pa = self.pyarrow
        arrays = {}
        for index, feature in enumerate(self.signature.features):
            column = table[:, index]
            if feature.kind == "string":
                arrays[feature.name] = pa.array(column.tolist(), type=pa.string())
            else:
                arrays[feature.name] = pa.array(column.astype(np.int64 if feature.kind == "integer" else np.float64))
        for name, values in columns.items():
            # Probabilities keep the runtime's precision (float32 from ONNX Runtime).
            arrays[name] = pa.array(np.asarray(values)) if name.startswith("proba_") else pa.array(values)
        chunk = pa.table(arrays)
        if self.writer is None:
            self.writer = pa.parquet.ParquetWriter(self.path, chunk.schema)
        self.writer.write_table(chunk.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _predict(service: ModelService, table: np.ndarray, rows_before: int) -> Outputs:
    try:
        return service.loaded.runtime.predict(table)
    except Exception as error:
        # Offline, the user owns the model and the data: the cause is theirs to see.
        raise PredictionFailed(
            f"model '{service.name}' failed on the rows {rows_before}..{rows_before + len(table) - 1}: "
            f"{type(error).__name__}: {error}"
        ) from error


def score_file(
    service: ModelService,
    source: str,
    target: str,
    *,
    proba: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: ProgressCallback | None = None,
) -> ScoreReport:
    """Score ``source`` (CSV, Parquet, or "-" for CSV on stdin) into ``target`` (likewise, "-" for stdout)."""
    if chunk_rows < 1:
        raise InvalidInput("chunk_rows must be at least 1")
    if proba and not service.signature.probabilities:
        raise InvalidInput(f"model '{service.name}' does not give class probabilities")
    started = time.perf_counter()
    rows = 0
    with contextlib.ExitStack() as stack:
        chunks = _chunks(stack, service.signature, source, chunk_rows)
        sink, finish = _sink(stack, service.signature, target)
        for table, fraction in chunks:
            outputs = _predict(service, table, rows)
            sink.write(table, service.encoder.to_columns(outputs, proba=proba))
            rows += len(table)
            if on_progress is not None:
                on_progress(rows, fraction())
        finish()
    return ScoreReport(rows=rows, seconds=time.perf_counter() - started)


def _constant(value: float) -> Callable[[], float | None]:
    return lambda: value


def _chunks(
    stack: contextlib.ExitStack, signature: Signature, source: str, chunk_rows: int
) -> Iterator[tuple[np.ndarray, Callable[[], float | None]]]:
    if _is_parquet(source):
        for table, fraction in parquet_chunks(Path(source), signature, chunk_rows):
            yield table, _constant(fraction)
        return
    if source == STDIO:
        for table in csv_chunks(sys.stdin.buffer, signature, chunk_rows):
            yield table, lambda: None
        return
    try:
        raw = stack.enter_context(open(source, "rb", buffering=0))  # noqa: SIM115 - closed by the stack
        size = os.fstat(raw.fileno()).st_size
    except OSError as error:
        raise MalformedInput(f"cannot read {source}: {error.strerror or error}") from None
    counting = _CountingReader(raw)
    stream = io.BufferedReader(counting, buffer_size=1 << 20)
    for table in csv_chunks(stream, signature, chunk_rows):
        yield table, lambda: min(1.0, counting.count / size) if size else None


def _sink(stack: contextlib.ExitStack, signature: Signature, target: str) -> tuple[Any, Callable[[], None]]:
    """A writer for ``target``, and the function that puts the finished file in place."""
    if target == STDIO:
        return _CsvSink(sys.stdout, signature), sys.stdout.flush
    final = Path(target)
    partial = final.with_name(final.name + ".partial")

    def discard() -> None:
        partial.unlink(missing_ok=True)

    stack.callback(discard)  # after a successful rename there is nothing left to remove
    if _is_parquet(target):
        sink = _ParquetSink(partial, signature)
        stack.callback(sink.close)

        def finish_parquet() -> None:
            sink.close()
            os.replace(partial, final)

        return sink, finish_parquet
    try:
        stream = stack.enter_context(open(partial, "w", newline="", encoding="utf-8"))  # noqa: SIM115
    except OSError as error:
        raise MalformedInput(f"cannot write {final}: {error.strerror or error}") from None

    def finish_csv() -> None:
        stream.close()
        os.replace(partial, final)

    return _CsvSink(stream, signature), finish_csv


class ProgressLine:
    """A one-line progress report on a terminal (stderr), redrawn at most every ``every_s``."""

    def __init__(self, stream: IO[str] = sys.stderr, every_s: float = 0.2) -> None:
        self.stream = stream
        self.every_s = every_s
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, rows: int, fraction: float | None) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s:
            return
        self.last = now
        self._draw(rows, fraction, end="")

    def _draw(self, rows: int, fraction: float | None, end: str) -> None:
        elapsed = time.perf_counter() - self.started
        share = f" ({fraction:.0%})" if fraction is not None else ""
        rate = rows / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"\rscored {rows:,} rows{share} in {elapsed:.1f} s, {rate:,.0f} rows/s{end}")
        self.stream.flush()

    def done(self, rows: int) -> None:
        self._draw(rows, 1.0, end="\n")
