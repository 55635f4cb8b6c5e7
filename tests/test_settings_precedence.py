"""A setting's value comes from its default < the config file's [server] table < DOCKML_* < flags,
whichever the setting, and is checked the same wherever it was written. In process: the flags go
through `dockml serve`'s own parser, then load_settings, as `dockml serve` does."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from dockml.cli import serve
from dockml.cli.options import settings_flags
from dockml.config import Settings, load_settings, write_toml
from dockml.errors import ConfigError


def serve_parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="dockml").add_subparsers()
    serve.register(commands)
    parser: argparse.ArgumentParser = commands.choices["serve"]
    return parser


def settings_from(
    tmp_path: Path, *, file: dict[str, Any] | None = None, env: dict[str, str] | None = None, argv: tuple[str, ...] = ()
) -> Settings:
    config = None
    if file is not None:
        config = tmp_path / "dockml.toml"
        config.write_text(write_toml({"server": file}))
    args = serve_parser().parse_args([*argv])
    return load_settings(config_file=config, model_arguments=[], flags=settings_flags(args), environ=env or {})


# name: what the file, the environment and the flag each say, all different from the default
LAYERS = {
    "port": (5001, "5002", "5003"),
    "workers": (2, "3", "4"),
    "batch_max_delay_ms": (1.5, "2.5", "3.5"),
    "max_turn_wait_ms": (7, "8", "9.5"),
    "probability_decimals": (3, "-1", "0"),
    "log_level": ("debug", "warning", "error"),
    "access_log": ("text", "json", "text"),
    "cors_origins": ("https://a.example", "https://b.example", "*"),
}


def typed(name: str, text: str) -> Any:
    return type(getattr(Settings(), name))(text)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_source_wins_over_the_ones_before(tmp_path, name):
    in_file, in_env, on_line = LAYERS[name]
    env = {f"DOCKML_{name.upper()}": in_env}
    argv = ("--" + name.replace("_", "-"), on_line)

    assert getattr(settings_from(tmp_path, file={name: in_file}), name) == in_file
    assert getattr(settings_from(tmp_path, file={name: in_file}, env=env), name) == typed(name, in_env)
    assert getattr(settings_from(tmp_path, file={name: in_file}, env=env, argv=argv), name) == typed(name, on_line)
    assert getattr(settings_from(tmp_path, env=env, argv=argv), name) == typed(name, on_line)
    assert getattr(settings_from(tmp_path, file={name: in_file}, argv=argv), name) == typed(name, on_line)


def test_defaults_when_no_source_says_anything(tmp_path):
    settings = settings_from(tmp_path)
    defaults = Settings()
    for name in LAYERS:
        if name != "workers":  # 0 becomes the number of cores
            assert getattr(settings, name) == getattr(defaults, name), name


def test_sources_mix_setting_by_setting(tmp_path):
    settings = settings_from(
        tmp_path,
        file={"port": 5001, "max_in_flight": 10, "trust_pickle": True},
        env={"DOCKML_MAX_IN_FLIGHT": "20", "DOCKML_HOST": "0.0.0.0"},
        argv=("--host", "::1"),
    )
    assert (settings.port, settings.max_in_flight, settings.host, settings.trust_pickle) == (5001, 20, "::1", True)


def test_a_flag_switches_on_what_the_environment_left_off(tmp_path):
    assert settings_from(tmp_path, env={"DOCKML_TRUST_PICKLE": "0"}, argv=("--trust-pickle",)).trust_pickle is True
    assert settings_from(tmp_path, env={"DOCKML_TRUST_PICKLE": "yes"}).trust_pickle is True


@pytest.mark.parametrize(
    ("name", "bad", "why"),
    [
        ("workers", "-1", "must be 0 or more (0: one per CPU core), not -1"),
        ("probability_decimals", "16", "must be from -1 to 15 (-1: every digit the model gives), not 16"),
        ("take_turns_above", "-2", "must be 0 or more (0: never), not -2"),
        ("max_turn_wait_ms", "-1", "must be 0 or more, not -1.0"),
        ("runtime", "fast", "must be auto, onnx or sklearn, not 'fast'"),
        ("access_log", "xml", "must be off, text or json, not 'xml'"),
        ("log_level", "loud", "must be critical, error, warning, info or debug, not 'loud'"),
        ("port", "eighty", "expected a whole number, got 'eighty'"),
        ("request_timeout_s", "soon", "expected a number, got 'soon'"),
    ],
)
def test_a_bad_value_is_refused_alike_from_every_source_naming_where_it_was_written(tmp_path, name, bad, why):
    flag = "--" + name.replace("_", "-")
    with pytest.raises(ConfigError) as from_flag:
        settings_from(tmp_path, argv=(flag, bad))
    assert str(from_flag.value) == f"{flag}{'' if why.startswith('must') else ':'} {why}"

    with pytest.raises(ConfigError) as from_env:
        settings_from(tmp_path, env={f"DOCKML_{name.upper()}": bad})
    assert str(from_env.value).startswith(f"DOCKML_{name.upper()}") and why in str(from_env.value)

    with pytest.raises(ConfigError) as from_file:
        settings_from(tmp_path, file={name: bad})
    assert f"'{name}' in [server] of {tmp_path / 'dockml.toml'}" in str(from_file.value)
    assert why in str(from_file.value)


def test_a_bad_value_that_a_later_source_replaces_is_not_an_error(tmp_path):
    assert settings_from(tmp_path, file={"workers": -1}, argv=("--workers", "2")).workers == 2


def test_an_unknown_setting_in_the_file_names_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown setting 'wrokers'; known settings: .*workers"):
        settings_from(tmp_path, file={"wrokers": 2})
