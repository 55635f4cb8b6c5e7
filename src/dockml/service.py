"""The data plane: live, ready, metadata and predict for every served model, knowing nothing of HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dockml import metrics
from dockml.batching import Batcher, BatchingPolicy
from dockml.codecs.number_inputs import NumberInputs
from dockml.codecs.predictions import PredictionEncoder
from dockml.config import ModelSpec, Settings, available_cores, cache_home
from dockml.errors import ConfigError, DockmlError, ModelNotFound, PredictionFailed
from dockml.models import LoadedModel, Outputs, Runtime, library_threads, load_model
from dockml.signature import Signature

log = logging.getLogger("dockml.service")


@dataclass(slots=True)
class ModelService:
    """One served model: its runtime, signature, how its inputs are read and its answers encoded."""

    spec: ModelSpec
    loaded: LoadedModel[Runtime]
    load_seconds: float
    policy: BatchingPolicy = field(default_factory=BatchingPolicy)
    probability_decimals: int | None = None
    numbers: NumberInputs | None = field(init=False)
    encoder: PredictionEncoder = field(init=False)
    batcher: Batcher = field(init=False)
    batches: metrics.BatchTally = field(init=False)
    warmed: bool = False

    def __post_init__(self) -> None:
        self.numbers = NumberInputs.of(self.loaded.signature)
        self.encoder = PredictionEncoder(self.loaded.signature, probability_decimals=self.probability_decimals)
        self.batches = metrics.BatchTally(self.name)
        self.batcher = Batcher(
            self._run,
            self.policy,
            # ONNX Runtime answers in microseconds: cheaper on the loop than a thread hop.
            in_thread=self.loaded.runtime.name != "onnx",
            on_batch=self.batches.add,
        )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def signature(self) -> Signature:
        return self.loaded.signature

    def _run(self, table: np.ndarray) -> Outputs:
        try:
            return self.loaded.runtime.predict(table)
        except Exception as error:
            # The cause goes to the server log; the client learns only that the model failed.
            log.exception("model %r failed on a batch of %d rows", self.name, len(table))
            raise PredictionFailed(f"model '{self.name}' failed to predict; the server log has the cause") from error

    async def predict(self, table: np.ndarray) -> Outputs:
        return await self.batcher.submit(table)

    def warm_up(self) -> None:
        """One prediction on the example record, so the first client does not pay for lazy set-up."""
        from dockml.codecs.records import decode_records

        try:
            table = decode_records([self.signature.example_record()], self.signature)
        except DockmlError as error:
            raise ConfigError(
                f"its example row is not valid: {error.detail}; fix the examples in its side file"
            ) from None
        self.encoder.labels(self.loaded.runtime.predict(table))
        self.warmed = True

    def describe(self, endpoints: dict[str, str]) -> dict[str, Any]:
        """What the model is and takes, with ``endpoints`` (its routes, by name: the HTTP layer's)."""
        return {
            "name": self.name,
            "description": self.spec.meta.description,
            "runtime": self.loaded.runtime.name,
            "batching": {"max_rows": self.policy.max_rows, "max_delay_ms": self.policy.max_delay_ms},
            "file": self.spec.path.name,
            "signature": self.signature.to_dict(),
            "endpoints": endpoints,
            "load_seconds": round(self.load_seconds, 4),
            "details": self.loaded.details.to_dict(),
        }


class Registry:
    """The served models, in the order they were given."""

    def __init__(self, services: Iterable[ModelService], threads: int = 1) -> None:
        self.services = {service.name: service for service in services}
        self.threads = threads
        """Threads per worker for the models' libraries (ONNX Runtime's are set when loading)."""
        self.warmed = False
        self.draining = False

    def use_threads(self) -> None:
        """In the process that serves (a worker, after the fork): the models' libraries may use
        this worker's share of the cores. Loading ran them on one thread (library_threads.py)."""
        library_threads.use(self.threads, [service.loaded.runtime for service in self])

    @property
    def ready(self) -> bool:
        """Every model loaded and warmed, and not shutting down."""
        return self.warmed and not self.draining

    def __iter__(self) -> Iterator[ModelService]:
        return iter(self.services.values())

    def __len__(self) -> int:
        return len(self.services)

    def get(self, name: str) -> ModelService:
        try:
            return self.services[name]
        except KeyError:
            raise ModelNotFound(f"no model named '{name}'; served models: {', '.join(self.services)}") from None

    def warm_up(self) -> None:
        for service in self:
            service.warm_up()
        self.warmed = True


def _load_service(spec: ModelSpec, settings: Settings, threads: int) -> ModelService:
    started = time.perf_counter()
    loaded = load_model(
        spec,
        trust_pickle=settings.trust_pickle,
        runtime=settings.runtime,
        cache_dir=cache_home() / "compiled",
        threads=threads,
    )
    policy = BatchingPolicy(
        max_rows=spec.meta.batch_max_rows if spec.meta.batch_max_rows is not None else settings.batch_max_rows,
        max_delay_ms=(
            spec.meta.batch_max_delay_ms if spec.meta.batch_max_delay_ms is not None else settings.batch_max_delay_ms
        ),
    )
    return ModelService(
        spec=spec,
        loaded=loaded,
        load_seconds=time.perf_counter() - started,
        policy=policy,
        probability_decimals=settings.probability_decimals if settings.probability_decimals >= 0 else None,
    )


def load_registry(settings: Settings) -> Registry:
    """Load every model of ``settings``, with ONNX Runtime threads shared out among the workers."""
    threads = max(1, available_cores() // max(1, settings.workers))
    services = []
    with library_threads.one_while_loading():
        for spec in settings.models:
            services.append(_load_one(spec, settings, threads))
    return Registry(services, threads)


def _load_one(spec: ModelSpec, settings: Settings, threads: int) -> ModelService:
    """One model loaded and warmed, or a start stopped with one line naming it."""
    try:
        service = _load_service(spec, settings, threads)
        service.warm_up()
    except ConfigError as error:
        raise type(error)(f"cannot serve model '{spec.name}': {error.detail}") from error
    except Exception as error:  # whatever the model's library raises: one line, the traceback at debug
        log.debug("loading model %r from %s failed", spec.name, spec.path, exc_info=True)
        cause = (str(error).splitlines() or [""])[0][:300]
        raise ConfigError(
            f"cannot serve model '{spec.name}' ({spec.path}): {type(error).__name__}: {cause}. Check that it "
            "was saved with the library versions installed here; --log-level debug shows the traceback"
        ) from None
    return service
