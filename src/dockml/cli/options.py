"""What serve and build share: the options that decide how models are served, and turning
parsed arguments into settings (with the demo services when no model is named)."""

from __future__ import annotations

import argparse
import logging
from argparse import _ArgumentGroup as ArgumentGroup
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dockml.config import Settings, checked_setting, load_settings, setting_options

SETTING_NAMES = tuple(setting_options())
# The settings `dockml build` takes as flags (it bakes them into the image), as `dockml serve` does.
SERVING_SETTINGS = (
    "runtime",
    "workers",
    "batch_max_rows",
    "batch_max_delay_ms",
    "max_body_bytes",
    "probability_decimals",
    "trust_pickle",
)


def add_setting_options(parser: argparse.ArgumentParser, names: Iterable[str]) -> dict[str, ArgumentGroup]:
    """One flag per setting, made from its ``config.Option``: ``--batch-max-rows N``, its help text
    and its default; in the argparse group the Option names (made here, and returned by title).

    Values stay strings: ``config.load_settings`` converts and checks them, as it does the file's and
    the environment's."""
    defaults = Settings()
    options = setting_options()
    groups: dict[str, ArgumentGroup] = {}
    for name in names:
        meta = options[name]
        target: argparse._ActionsContainer = parser
        if meta.group:
            if meta.group not in groups:
                groups[meta.group] = parser.add_argument_group(meta.group)
            target = groups[meta.group]
        default = getattr(defaults, name)
        note = f", {meta.default_note}" if meta.default_note else ""
        text = f"{meta.help} (default: {_shown(default)}{note})".replace("%", "%%")
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            target.add_argument(flag, action="store_const", const=True, help=text)
        else:
            metavar = meta.metavar or ("{" + ",".join(meta.choices) + "}" if meta.choices else None)
            target.add_argument(flag, metavar=metavar, help=text)
    return groups


def _shown(default: object) -> str:
    """A default as the help shows it: 30.0 as 30, "" as none, False as off."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default) if default != "" else "none"


def add_serving_options(parser: argparse.ArgumentParser) -> None:
    """How the models are loaded and batched, the same for `dockml serve` and the image `dockml build` makes."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML settings file with [server] and [models.NAME] tables"
    )
    add_setting_options(parser, SERVING_SETTINGS)
    parser.add_argument(
        "--sample",
        action="append",
        metavar="[NAME=]FILE",
        help="a CSV of typical rows (with a header) that the check of a compiled model also runs, "
        "beside the rows dockml derives from the model; repeat per model (default: the side file's sample)",
    )


def settings_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Every setting given on the command line: an option is named after its setting."""
    return {name: getattr(args, name) for name in SETTING_NAMES if getattr(args, name, None) is not None}


def settings_or_demos(args: argparse.Namespace, **kwargs: Any) -> Settings:
    """The settings for MODEL arguments, or for the demo services when no model is named. Logging
    is set to the settings' level (unless a command set its own) before any demo is trained."""
    flags = settings_flags(args)
    kwargs.setdefault("model_samples", getattr(args, "sample", None) or [])
    settings = load_settings(config_file=args.config, model_arguments=list(args.models), flags=flags, **kwargs)
    configure_logging(settings.log_level)
    if settings.models:
        return settings
    from dockml.demos import demo_paths

    models = [f"{name}={path}" for name, path in demo_paths().items()]
    return load_settings(config_file=args.config, model_arguments=models, flags=flags, **kwargs)


def configure_logging(level: str | None = None) -> None:
    """Log at ``level``, checked as the log_level setting is (None: the setting's default)."""
    checked: str = Settings().log_level if level is None else checked_setting("log_level", level)
    logging.basicConfig(level=checked.upper(), format="%(levelname)s:     %(message)s")
