"""Typed settings, built once at the edge: defaults < config file < DOCKML_* environment < flags.

A config file is TOML:

    [server]
    port = 5000
    max_body_bytes = 16777216

    [models.iris]
    path = "iris.skops"
    description = "Iris species from flower measurements"
    class_names = ["setosa", "versicolor", "virginica"]

    [models.iris.inputs.s_length]
    description = "Sepal length (cm)"
    example = 5.1

A model's side file (``model.dockml.toml`` beside ``model.onnx``) holds the same keys as one
``[models.NAME]`` section, without ``path``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from dockml.constants import PORT, RUNTIMES
from dockml.errors import ConfigError
from dockml.platforms import platform_settings

MODEL_SUFFIXES = (".onnx", ".skops", ".joblib", ".pkl", ".pickle", ".json", ".ubj", ".txt", ".cbm")
SIDE_FILE_SUFFIX = ".dockml.toml"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InputMeta:
    """What a side file says about one input feature."""

    description: str = ""
    type: str | None = None  # "number", "integer", "string" or "boolean"
    example: Any = None
    categories: tuple[Any, ...] | None = None
    allows_missing: bool | None = None  # None: as the model says (ONNX files say nothing: False)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """How an uploaded picture becomes the model's feature vector.

    The defaults fit scikit-learn's digits: 8x8 grey levels from 0 (paper) to 16 (ink).
    """

    width: int = 8
    height: int = 8
    grayscale: bool = True
    invert: str = "auto"  # "auto" (ink is whatever differs from the border), "true" or "false"
    scale_max: float = 16.0  # the brightest ink becomes this value; 0 stays 0
    crop: bool = True  # cut to the ink's bounding box and centre it, as the digits scans were


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """Everything a side file or config section can add to what the model file says."""

    description: str = ""
    feature_names: tuple[str, ...] | None = None
    inputs: Mapping[str, InputMeta] = field(default_factory=dict)
    class_names: tuple[str, ...] | None = None
    target_names: tuple[str, ...] | None = None
    examples: tuple[Mapping[str, Any], ...] = ()
    sample: Path | None = None
    """A CSV of typical rows (with a header) for the parity check of a compiled model."""
    image: ImageSpec | None = None
    trusted_types: tuple[str, ...] = ()
    batch_max_rows: int | None = None
    batch_max_delay_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model to serve: its route name, its file and what we know about it."""

    name: str
    path: Path
    meta: ModelMeta = field(default_factory=ModelMeta)
    sha256: str | None = None
    """If set, the file must have this sha256, or dockml refuses to start."""


@dataclass(frozen=True, slots=True)
class Option:
    """How a setting is offered and checked; the command line's flags and help are made from it."""

    help: str
    """What the setting does, written once; the help appends "(default: ...)" from the field."""
    default_note: str = ""
    """What the default means, shown after it: "(default: 0, one per CPU core)"."""
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    range_note: str = ""
    """What a value at the edge of the range means, for the message when one is out: "0: never"."""
    group: str = ""
    """The argparse group in `dockml serve --help`; "": the main options."""
    flag: bool = True
    """False: set in ``[server]``, as DOCKML_* or by the platform (platforms.py), no flag."""


def option(
    default: T,
    *,
    help: str,
    default_note: str = "",
    metavar: str | None = None,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    range_note: str = "",
    group: str = "",
    flag: bool = True,
) -> T:
    """A Settings field with its :class:`Option`: ``port: int = option(5000, help="TCP port")``."""
    meta = Option(help, default_note, metavar, choices, minimum, maximum, range_note, group, flag)
    made: T = field(default=default, metadata={"option": meta})
    return made


LIMITS = "limits and shutdown"
SECURITY = "security and operations"


@dataclass(frozen=True, slots=True)
class Settings:
    """Server settings. Every field can be set in ``[server]``, as DOCKML_<FIELD> or (most) as a flag;
    each field's :class:`Option` says what it does and what values it takes."""

    host: str = option(
        "127.0.0.1",
        help="address to listen on; 0.0.0.0 listens on every interface, exposing the service to the network",
        default_note="this machine only",
    )
    port: int = option(PORT, help="TCP port", default_note="the tutorial's")
    runtime: str = option(
        "auto",
        help="auto: compile scikit-learn models to ONNX Runtime when their predictions match, else serve them "
        "with scikit-learn and log why (an image then ships scikit-learn); onnx: fail if they do not compile; "
        "sklearn: never compile",
        choices=RUNTIMES,
    )
    workers: int = option(
        0,
        help="server processes, forked after the models are loaded; each has its own listening socket",
        default_note="one per CPU core, or per CPU of a container's limit",
        minimum=0,
        range_note="0: one per CPU core",
    )
    batch_max_rows: int = option(
        64,
        help="most rows merged from concurrent requests into one model call; 1 turns micro-batching off",
        metavar="N",
    )
    batch_max_delay_ms: float = option(
        0.0,
        help="under load, how long a batch may wait to fill; a lone request never waits",
        default_note="merge only requests that arrived together",
        metavar="MS",
    )
    max_body_bytes: int = option(
        16 * 1024 * 1024, help="largest request body accepted, else 413", default_note="16 MiB", metavar="N"
    )
    probability_decimals: int = option(
        5,
        help="decimal places of class probabilities in JSON and CSV answers, 0 to 15; -1 keeps every digit "
        "the model gives, as the V2 protocol's tensors always do",
        default_note="enough to undo float32 noise: 0.99, not 0.98999935",
        metavar="N",
        minimum=-1,
        maximum=15,
        range_note="-1: every digit the model gives",
    )
    trust_pickle: bool = option(
        False,
        help="load .joblib/.pkl files, which run code from the file while loading; only for files you made "
        "or trust; DOCKML_TRUST_PICKLE=1 does the same",
        default_note="such files are refused",
    )
    log_level: str = option(
        "info",
        help="how much the server logs; debug adds the traceback of a model that cannot be served",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    request_timeout_s: float = option(
        30.0, help="answer 504 to a request still running after S seconds", metavar="S", group=LIMITS
    )
    max_in_flight: int = option(
        256,
        help="requests in progress per worker; beyond, a fast 503 with Retry-After",
        metavar="N",
        group=LIMITS,
    )
    take_turns_above: int = option(
        48,
        help="above N requests in progress per worker, connections take turns: one just answered is read again "
        "only when a request ends, so the requests taken stay fast under overload; 0: never",
        metavar="N",
        minimum=0,
        range_note="0: never",
        group=LIMITS,
    )
    max_turn_wait_ms: float = option(
        20.0,
        help="a request that waited longer than MS for its connection's turn gets a fast 503 with Retry-After",
        metavar="MS",
        minimum=0,
        group=LIMITS,
    )
    head_timeout_s: float = option(
        10.0,
        help="answer 408 and close a connection whose request head is not complete S seconds after it began "
        "(checked a few times per S: at most S/4, or 1 s, later)",
        metavar="S",
        group=LIMITS,
    )
    keep_alive_timeout_s: float = option(
        5.0,
        help="close a kept-alive connection idle for S seconds (checked a few times per S: at most S/4, or 1 s, later)",
        metavar="S",
        group=LIMITS,
    )
    max_connections: int = option(
        900,
        help="open connections per worker (below the common 1,024 file limit); at the limit, the oldest still "
        "sending its request head is closed to make room",
        metavar="N",
        group=LIMITS,
    )
    max_headers: int = option(100, help="most header fields in a request, else 431", metavar="N", group=LIMITS)
    max_header_bytes: int = option(
        65536, help="most bytes of header names and values in a request, else 431", metavar="N", group=LIMITS
    )
    max_csv_rows: int = option(
        50_000,
        help="most data rows in one CSV or Parquet body (counted while reading), else 413; score larger files "
        "offline with `dockml score`",
        metavar="N",
        group=LIMITS,
    )
    max_image_pixels: int = option(
        40_000_000, help="most pixels (width x height) in one uploaded image, else 413", metavar="N", group=LIMITS
    )
    shutdown_drain_s: float = option(
        0.0,
        help="after SIGTERM, keep serving S seconds with /health/ready at 503 before closing the listener; in "
        "Kubernetes a preStop sleep does this",
        metavar="S",
        group=LIMITS,
    )
    shutdown_grace_s: float = option(
        10.0,
        help="after SIGTERM, the longest wait for requests in progress; a second signal exits at once",
        metavar="S",
        group=LIMITS,
    )
    api_key: str = option(
        "",
        help="require this key (Authorization: Bearer KEY, or X-API-Key: KEY) on every route but the health "
        "checks; prefer DOCKML_API_KEY or --api-key-file, which ps cannot show",
        metavar="KEY",
        group=SECURITY,
    )
    api_key_file: str = option(
        "", help="read the API key from the first line of FILE, instead of --api-key", metavar="FILE", group=SECURITY
    )
    cors_origins: str = option(
        "",
        help="comma-separated origins allowed to call the API from a browser, or *",
        default_note="CORS off",
        metavar="ORIGINS",
        group=SECURITY,
    )
    access_log: str = option(
        "off",
        help="one log line per request with its request id, as text or JSON",
        choices=("off", "text", "json"),
        group=SECURITY,
    )
    predict_route: str = option(
        "",
        help='another path answering {"instances": [...]} with {"predictions": [...]} (Vertex AI\'s AIP_PREDICT_ROUTE)',
        flag=False,
    )
    health_route: str = option(
        "", help="another path answering as /ping does (Vertex AI's AIP_HEALTH_ROUTE)", flag=False
    )
    models: tuple[ModelSpec, ...] = ()


def setting_options() -> dict[str, Option]:
    """Every setting but ``models``, in the order of ``Settings``, with its :class:`Option`."""
    return {f.name: f.metadata["option"] for f in fields(Settings) if "option" in f.metadata}


_OPTIONS = setting_options()
_KINDS: dict[str, type] = {
    f.name: {"str": str, "int": int, "bool": bool, "float": float}[str(f.type)]
    for f in fields(Settings)
    if f.name in _OPTIONS
}
_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}

# Where a value came from (a config file's origin is its path): the checks' messages name the
# setting as the user wrote it there.
COMMAND_LINE = "command line"
ENVIRONMENT = "environment"
PLATFORM = "platform environment"


def _where(name: str, origin: str) -> str:
    """Setting ``name`` as written in ``origin``: ``--max-in-flight``, ``DOCKML_MAX_IN_FLIGHT``..."""
    if origin == COMMAND_LINE:
        return "--" + name.replace("_", "-")
    if origin == ENVIRONMENT:
        return f"DOCKML_{name.upper()}"
    if origin == PLATFORM:
        return f"setting '{name}' (from the platform's environment)"
    return f"'{name}' in [server] of {origin}"


def _coerce(name: str, raw: Any, origin: str) -> Any:
    kind = _KINDS[name]
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _BOOL_TRUE:
            return True
        if text in _BOOL_FALSE:
            return False
        raise ConfigError(f"{_where(name, origin)}: expected true or false, got {raw!r}")
    if kind in (int, float):
        try:
            return kind(raw)
        except (TypeError, ValueError):
            number = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{_where(name, origin)}: expected {number}, got {raw!r}") from None
    return str(raw)


def _check(name: str, value: Any, origin: str) -> None:
    """The setting's choices and range, whichever source gave the value."""
    meta = _OPTIONS[name]
    if meta.choices and value not in meta.choices:
        allowed = ", ".join(meta.choices[:-1]) + " or " + meta.choices[-1]
        raise ConfigError(f"{_where(name, origin)} must be {allowed}, not {value!r}")
    low, high = meta.minimum, meta.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            span = f"from {low:g} to {high:g}"
        else:
            span = f"{low:g} or more" if low is not None else f"{high:g} or less"
        note = f" ({meta.range_note})" if meta.range_note else ""
        raise ConfigError(f"{_where(name, origin)} must be {span}{note}, not {value!r}")


def checked_setting(name: str, raw: Any, origin: str = COMMAND_LINE) -> Any:
    """``raw`` as setting ``name`` takes it, or a ConfigError that says where it was given and what it takes."""
    value = _coerce(name, raw, origin)
    _check(name, value, origin)
    return value


def _apply(settings: Settings, values: Mapping[str, Any], origin: str, origins: dict[str, str]) -> Settings:
    changes = {}
    for key, raw in values.items():
        if key not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            raise ConfigError(f"{origin}: unknown setting '{key}'; known settings: {known}")
        changes[key] = _coerce(key, raw, origin)
        origins[key] = origin
    return replace(settings, **changes)


def settings_from_env(settings: Settings, environ: Mapping[str, str], origins: dict[str, str]) -> Settings:
    values = {name: environ[f"DOCKML_{name.upper()}"] for name in _KINDS if f"DOCKML_{name.upper()}" in environ}
    return _apply(settings, values, ENVIRONMENT, origins)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def parse_model_meta(table: Mapping[str, Any], origin: str) -> ModelMeta:
    """Build a ModelMeta from a side file or a ``[models.NAME]`` table (``path`` is ignored)."""
    from dockml.side_file import read_model_table

    checked = read_model_table(table, origin)
    inputs = {
        name: InputMeta(
            description=spec.description,
            type=spec.type,
            example=spec.example,
            categories=tuple(spec.categories) if spec.categories is not None else None,
            allows_missing=spec.allows_missing,
        )
        for name, spec in checked.inputs.items()
    }
    image = None
    if checked.image is not None:
        picture = checked.image
        invert = picture.invert if isinstance(picture.invert, str) else str(picture.invert).lower()
        image = ImageSpec(
            width=picture.width,
            height=picture.height,
            grayscale=picture.grayscale,
            invert=invert,
            scale_max=picture.scale_max,
            crop=picture.crop,
        )
    return ModelMeta(
        description=checked.description,
        feature_names=tuple(checked.feature_names) if checked.feature_names is not None else None,
        inputs=inputs,
        class_names=tuple(map(str, checked.class_names)) if checked.class_names is not None else None,
        target_names=tuple(checked.target_names) if checked.target_names is not None else None,
        sample=Path(checked.sample) if checked.sample is not None else None,
        examples=tuple(checked.examples),
        image=image,
        trusted_types=tuple(checked.trusted_types),
        batch_max_rows=checked.batching.max_rows,
        batch_max_delay_ms=checked.batching.max_delay_ms,
    )


def side_file_for(model_path: Path) -> Path:
    """``iris.skops`` -> ``iris.dockml.toml`` in the same folder."""
    return model_path.with_name(model_path.stem + SIDE_FILE_SUFFIX)


def model_spec(argument: str, config_models: Mapping[str, Any] | None = None) -> ModelSpec:
    """Turn a MODEL argument (``path`` or ``name=path``) into a ModelSpec, with its side file."""
    name, sep, raw_path = argument.partition("=")
    if not sep:
        raw_path, name = argument, Path(argument).stem
    path = Path(raw_path).expanduser()
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ConfigError(
            f"{raw_path}: unknown model format '{path.suffix}'; dockml serves {', '.join(MODEL_SUFFIXES)} files"
        )
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"model name '{name}': use letters, digits, '-' and '_' only (write NAME=PATH)")
    section = dict((config_models or {}).get(name, {}))
    side = side_file_for(path)
    if side.is_file():
        section = {**read_toml(side), **section}
    sha256 = section.get("sha256")
    meta = parse_model_meta(section, str(side) if side.is_file() else name)
    if meta.sample is not None and not meta.sample.is_absolute():
        meta = replace(meta, sample=path.parent / meta.sample)  # beside the model, as the side file is
    return ModelSpec(
        name=name,
        path=path,
        meta=meta,
        sha256=str(sha256).lower() if sha256 else None,
    )


def load_settings(
    *,
    config_file: Path | None,
    model_arguments: list[str],
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    model_sha256: list[str] | None = None,
    model_samples: list[str] | None = None,
) -> Settings:
    """Merge defaults, the config file, DOCKML_* variables and command-line flags, in that order."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    origins: dict[str, str] = {}  # where each setting that is not a default came from, for the checks' messages
    config: dict[str, Any] = {}
    if config_file is None and environ.get("DOCKML_CONFIG"):
        config_file = Path(environ["DOCKML_CONFIG"])
    if config_file is not None:
        config = read_toml(config_file)
        unknown = set(config) - {"server", "models"}
        if unknown:
            raise ConfigError(f"{config_file}: unknown sections {sorted(unknown)}; use [server] and [models.NAME]")
        settings = _apply(settings, config.get("server", {}), str(config_file), origins)
    settings = settings_from_env(settings, environ, origins)
    settings = _apply(settings, platform_settings(environ), PLATFORM, origins)  # platforms.py
    settings = _apply(settings, {k: v for k, v in flags.items() if v is not None}, COMMAND_LINE, origins)
    # Checked once merged: a value a later source overrides need not be valid.
    for name, origin in origins.items():
        _check(name, getattr(settings, name), origin)
    config_models = config.get("models", {})
    base = config_file.parent if config_file else Path.cwd()
    arguments = list(model_arguments)
    if not arguments:
        # Models named only in the config file are served too, their paths relative to it.
        arguments = [f"{name}={base / section['path']}" for name, section in config_models.items() if "path" in section]
    specs = tuple(model_spec(argument, config_models) for argument in arguments)
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"two models are named {duplicates[0]!r}; name them with NAME=PATH")
    specs = _pin_hashes(specs, model_sha256 or [])
    specs = _with_samples(specs, model_samples or [])
    if settings.api_key_file and not settings.api_key:
        settings = replace(settings, api_key=_read_key(Path(settings.api_key_file)))
    workers = settings.workers or available_cores()
    return replace(settings, models=specs, workers=workers)


def _read_key(path: Path) -> str:
    try:
        key = path.read_text().splitlines()[0].strip() if path.read_text().strip() else ""
    except OSError as error:
        raise ConfigError(f"api key file {path}: {error.strerror}") from None
    if not key:
        raise ConfigError(f"api key file {path} is empty")
    return key


def _per_model(specs: tuple[ModelSpec, ...], values: list[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments (or ``VALUE`` alone when one model is served) by model name."""
    by_name: dict[str, str] = {}
    for argument in values:
        name, sep, value = argument.rpartition("=")
        if not sep:
            if len(specs) != 1:
                raise ConfigError(f"{option} VALUE works with one model; write NAME=VALUE with several")
            name = specs[0].name
        if name not in {spec.name for spec in specs}:
            raise ConfigError(f"{option} names '{name}', which is not a served model")
        by_name[name] = value.strip()
    return by_name


def _pin_hashes(specs: tuple[ModelSpec, ...], pins: list[str]) -> tuple[ModelSpec, ...]:
    """--model-sha256 NAME=HEX (or HEX alone when one model is served)."""
    by_name = {name: digest.lower() for name, digest in _per_model(specs, pins, "--model-sha256").items()}
    for name, digest in by_name.items():
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ConfigError(f"--model-sha256 for '{name}': expected 64 hexadecimal digits, got {digest!r}")
    return tuple(replace(spec, sha256=by_name[spec.name]) if spec.name in by_name else spec for spec in specs)


def _with_samples(specs: tuple[ModelSpec, ...], samples: list[str]) -> tuple[ModelSpec, ...]:
    """--sample NAME=FILE (or FILE alone when one model is served): typical rows for the parity check."""
    by_name = _per_model(specs, samples, "--sample")
    return tuple(
        replace(spec, meta=replace(spec.meta, sample=Path(by_name[spec.name]))) if spec.name in by_name else spec
        for spec in specs
    )


def available_cores(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may use: its cgroup's CPU quota (a container's CPU limit, rounded
    up), else the CPUs it is pinned to, else the machine's; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(cgroup_root)
    return max(1, min(cores, quota) if quota is not None else cores)


def cgroup_cpu_limit(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The CPU quota of the cgroup at ``cgroup_root`` in whole CPUs, rounded up; None if unlimited.

    cgroup v2 keeps it in ``cpu.max`` ("max 100000", or "200000 100000" for 2 CPUs); cgroup v1
    in ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us``. In a container the cgroup
    namespace puts the container's own cgroup at the root, so a Kubernetes CPU limit shows here.
    """
    try:
        quota, _, period = (cgroup_root / "cpu.max").read_text().strip().partition(" ")
    except OSError:
        for folder in ("cpu", "cpu,cpuacct"):
            try:
                quota = (cgroup_root / folder / "cpu.cfs_quota_us").read_text().strip()
                period = (cgroup_root / folder / "cpu.cfs_period_us").read_text().strip()
                break
            except OSError:
                continue
        else:
            return None
    try:
        quota_us, period_us = int(quota), int(period or 100_000)
    except ValueError:  # "max"
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, -(-quota_us // period_us))


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where dockml keeps the demo models and compiled ONNX files: $DOCKML_HOME, else
    $XDG_CACHE_HOME/dockml, else ~/.cache/dockml."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCKML_HOME"):
        return Path(environ["DOCKML_HOME"])
    base = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "dockml"


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def write_toml(tables: Mapping[str, Any]) -> str:
    """A small TOML writer for side files: top-level keys, then one level of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in tables.items() if not isinstance(v, Mapping)]
    for name, table in tables.items():
        if isinstance(table, Mapping):
            lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
