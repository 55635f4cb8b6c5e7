"""Shell blocks of the docs, read as commands and the outputs they show, so tests can run them.

A command may continue over lines ending in ``\\``. Lines starting with ``# `` right under a
command are its output, as the user sees it; a ``#`` after a command on its own line is a remark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    command: str
    output: str | None  # None: the docs show none, so only success is checked


def sh_blocks(markdown: str) -> list[str]:
    """Every ```sh block, in order."""
    return re.findall(r"^```sh\n(.*?)\n```", markdown, flags=re.DOTALL | re.MULTILINE)


def steps(block: str) -> list[Step]:
    """Commands (with their ``\\`` continuations) and the ``# `` lines under each, as its output."""
    commands: list[str] = []
    outputs: list[list[str]] = []
    continued = False
    for line in block.splitlines():
        if line.startswith("# ") and not continued:
            assert commands, f"output before any command: {line}"
            outputs[-1].append(line[2:])
        elif continued:
            commands[-1] += "\n" + line
        elif line.strip():
            commands.append(line)
            outputs.append([])
        continued = line.endswith("\\")
    return [Step(c, "\n".join(o) if o else None) for c, o in zip(commands, outputs, strict=True)]
