"""The command line as the tests use it: `run_cli` starts `python -m bot` as a real process (each command does so
once somewhere in the suite), `call_cli` runs the same `main(argv)` in this process, a second and a half cheaper,
where a process adds nothing to what is tested."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot.__main__ as cli

ROOT = Path(__file__).resolve().parent.parent
# What the machine's environment must not add to a command's: the tests set these themselves.
OWN_VARIABLES = ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_BASE_URL", "TELEGRAM_BASE_FILE_URL")


def run_cli(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in `cwd`, with only `env` added to a clean environment."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("SHUANGYOU_") and key not in OWN_VARIABLES
    }
    environment["PYTHONPATH"] = str(ROOT)
    environment["SHUANGYOU_WEB__PORT"] = "0"  # the console's web pages on a free port
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd, env=environment, timeout=timeout, check=False,
    )  # fmt: skip


def call_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    cwd: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`main(ARGS)` in this process, in `cwd`, with `env` set (the clean_environment fixture removed the machine's)
    and `stdin` as standard input; what it printed and its exit status, as `run_cli` gives them."""
    capsys.readouterr()  # what was printed before is not this command's
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        for key, value in (env or {}).items():
            patch.setenv(key, value)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            status = cli.main(list(args))
        except SystemExit as exit:  # --help, and argparse's refusals
            status = exit.code if isinstance(exit.code, int) else 1
    printed = capsys.readouterr()
    return subprocess.CompletedProcess(["python", "-m", "bot", *args], status, printed.out, printed.err)
