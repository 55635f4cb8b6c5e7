"""docs/tutorial.md from top to bottom: every command of its sh blocks, in order, as written, from
a copy of the repository's examples and scripts, on an engine that cannot pull images; each
output the page shows (``# ...`` under a command) is compared with what the command printed.

Commands that keep the terminal (``docker run`` without ``-d``, ``dockml serve``) are started
in the background; the block after theirs runs "in a second terminal", and they are stopped
(Ctrl+C, as the page then says) before the block after that.

Two things differ from a user's machine, and only these: the set-up line is the README's own
command, which CI itself runs first (it would reinstall the venv the tests run in), and
``-p 5000:5000`` becomes ``--network host``, as this engine has no bridge network to publish a
port through (the container then listens on the host's port 5000 itself).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shell_blocks import Step, sh_blocks, steps

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SET_UP = 'python3 -m venv .venv && .venv/bin/pip install -e ".[sklearn]"'
PORT = 5000
IMAGES = ("flask-add", "rf-api", "digits-api")


def keeps_the_terminal(command: str) -> bool:
    return (command.startswith("docker run ") and " -d " not in command) or command.startswith(".venv/bin/dockml serve")


def port_is_free() -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", PORT)) != 0


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False).stdout


class Foreground:
    """The command that holds the first terminal, if any."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "foreground.log"

    def start(self, command: str) -> None:
        self.stop()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=self.workdir, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{command}\nexited:\n{self.log.read_text()[-3000:]}"
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.3)
        raise AssertionError(f"{command}\ndid not answer on port {PORT}:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Ctrl+C, as the page says; `docker run` passes it to the container."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"Ctrl+C did not stop it:\n{self.log.read_text()[-3000:]}") from None
        finally:
            self.process = None


def test_the_tutorial_commands_all_run_and_print_what_it_shows(base_image: str, tmp_path: Path) -> None:
    assert SET_UP in (ROOT / "README.md").read_text(), "the tutorial's set-up line is no longer the README's"
    assert port_is_free(), f"port {PORT} is taken: the tutorial's services listen there"
    workdir = tmp_path / "clone"
    generated = shutil.ignore_patterns("*.skops", "*.dockml.toml", "seven.png", "extra-ca.crt", "__pycache__")
    shutil.copytree(ROOT / "examples", workdir / "examples", ignore=generated)
    shutil.copytree(ROOT / "scripts", workdir / "scripts")
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    env = {**os.environ, "DOCKML_HOME": str(tmp_path / "dockml-home")}
    dangling_before = set(docker("images", "--quiet", "--filter", "dangling=true").split())
    stages_before = set(docker("images", "--quiet", "dockml-install-stage").split())
    foreground = Foreground(workdir, env)
    blocks = [steps(block) for block in sh_blocks(TUTORIAL.read_text())]
    assert blocks[0][0].command == SET_UP and sum(map(len, blocks)) > 20, "the tutorial's commands were not found"
    blocks[0] = blocks[0][1:]
    started_in = -1
    try:
        for index, block in enumerate(blocks):
            if index >= started_in + 2:
                foreground.stop()
            for step in block:
                if keeps_the_terminal(step.command):
                    foreground.start(step.command.replace("-p 5000:5000", "--network host"))
                    started_in = index
                else:
                    run(step, workdir, env)
        foreground.stop()
        assert not (workdir / "rf-api-context").exists(), "the clean-up section left the context behind"
        assert not any(docker("images", "--quiet", image).strip() for image in IMAGES), "images left behind"
    finally:
        foreground.stop()
        docker("rm", "--force", "rf")
        docker("image", "rm", "--force", *IMAGES)
        left = set(docker("images", "--quiet", "--filter", "dangling=true").split()) - dangling_before
        left |= set(docker("images", "--quiet", "dockml-install-stage").split()) - stages_before
        if left:
            docker("image", "rm", "--force", *left)


def run(step: Step, workdir: Path, env: dict[str, str]) -> None:
    command = step.command.replace("-p 5000:5000", "--network host")
    result = subprocess.run(
        ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    printed = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, f"{step.command}\nexited with {result.returncode}:\n{printed}"
    if step.output is not None:
        assert result.stdout.strip() == step.output, f"{step.command}\nprinted {result.stdout!r}"
