"""Each setting is declared once, in config.Settings: its flag, help text and default in
`dockml serve --help` (and in `dockml build --help` for the ones an image takes) are made from
that declaration, and what the README says of the defaults agrees with it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dockml.cli import build, serve
from dockml.cli.options import SERVING_SETTINGS
from dockml.config import Settings, setting_options

README = Path(__file__).resolve().parents[1] / "README.md"
# Set by the platform (platforms.py), in [server] or as DOCKML_*, never by hand on a command line.
NOT_FLAGS = {"predict_route", "health_route"}


def command_parser(module) -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="dockml").add_subparsers()
    module.register(commands)
    parser: argparse.ArgumentParser = commands.choices[module.__name__.rpartition(".")[2]]
    return parser


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def flags_of(parser: argparse.ArgumentParser) -> set[str]:
    return set(re.findall(r"^\s+(--[a-z0-9-]+)", parser.format_help(), re.MULTILINE))


def help_entry(help_text: str, option: str) -> str:
    """The help of one option, its lines joined."""
    match = re.search(rf"^  {option}\b(.*?)(?=^  -|\Z|^\S)", help_text, re.MULTILINE | re.DOTALL)
    assert match, f"{option} is not in the help"
    return " ".join(match.group(1).split())


def shown(default: object) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default) if default != "" else "none"


def test_every_setting_has_help_text():
    options = setting_options()
    assert set(options) == {name for name in Settings.__dataclass_fields__ if name != "models"}
    for name, option in options.items():
        assert option.help.strip() and not option.help.endswith("."), name  # "(default: ...)" follows


def test_every_setting_is_a_flag_of_serve_but_the_platform_ones():
    assert {name for name, option in setting_options().items() if not option.flag} == NOT_FLAGS
    serve_flags = flags_of(command_parser(serve))
    for name in setting_options():
        assert (flag(name) in serve_flags) is (name not in NOT_FLAGS), name


def test_serve_help_shows_each_default():
    text = command_parser(serve).format_help()
    defaults = Settings()
    for name, option in setting_options().items():
        if option.flag:
            assert f"(default: {shown(getattr(defaults, name))}" in help_entry(text, flag(name)), name


def test_build_takes_the_serving_settings_with_the_same_help():
    serve_text, build_text = command_parser(serve).format_help(), command_parser(build).format_help()
    settings_in_build = {flag(name) for name in setting_options()} & flags_of(command_parser(build))
    assert settings_in_build == {flag(name) for name in SERVING_SETTINGS}
    for option in settings_in_build:
        assert help_entry(build_text, option) == help_entry(serve_text, option)


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_synopsis_shows_the_defaults():
    synopsis = re.search(r"```\n(dockml serve \[MODEL.*?)```", readme_section("What `dockml serve` does"), re.DOTALL)
    assert synopsis, "README.md: the dockml serve synopsis is gone"
    defaults, options = Settings(), setting_options()
    pairs = re.findall(r"\[--([a-z0-9-]+) ([^\]]+)\]", synopsis.group(1))
    checked = [
        (name.replace("-", "_"), value) for name, value in pairs if not value.isalpha() or not value.isupper()
    ]  # not a METAVAR
    assert len(checked) >= 6
    for name, value in checked:
        assert name in options and value == shown(getattr(defaults, name)), name


def test_the_readme_operations_table_agrees_with_the_settings():
    rows = re.findall(r"^\| (`--.*?) \| (.*?) \|", readme_section("Operations"), re.MULTILINE)
    assert len(rows) >= 10
    defaults = Settings()
    for options, values in rows:
        names = [name.replace("-", "_") for name in re.findall(r"`--([a-z0-9-]+)`", options)]
        given = [value.split()[0] for value in values.split(", ")]
        assert len(names) == len(given), options
        for name, value in zip(names, given, strict=True):
            default = getattr(defaults, name)
            if name == "workers":  # "one per core": what its default, 0, means
                assert default == 0
                continue
            assert value == shown(default), f"README.md says {flag(name)} defaults to {value}"
