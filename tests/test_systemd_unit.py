"""The systemd unit in README.md, as written there: systemd-analyze accepts it, and its commands, run the way systemd
runs them, migrate the database, answer /start and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sysconfig
import textwrap
import time
import tomllib
import venv
from pathlib import Path

import pytest

from bot.fake_api import FakeBotApi
from bot.http_api import HttpBotApi
from storage.migrate import head_revision
from tests.test_http_api import ANN, TOKEN, answers, say

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The environment systemd starts a system service with, before its User= and EnvironmentFile= variables: not the
# caller's environment (so no PYTHONPATH, virtualenv or locale from the shell that ran `systemctl start`).
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
STOP_SECONDS = 5
COMMAND_SECONDS = 60

Unit = dict[str, dict[str, list[str]]]


def readme_unit() -> str:
    """The ```ini block of README.md that starts with [Unit], unindented from its list item."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^( *)```ini\n(.*?)^\1```$", text, flags=re.MULTILINE | re.DOTALL)
    units = [textwrap.dedent(body) for _, body in blocks if textwrap.dedent(body).startswith("[Unit]")]
    assert len(units) == 1, "README.md should show one systemd unit, an ```ini block starting with [Unit]"
    return units[0]


def parse_unit(text: str) -> Unit:
    """Section → key → values (ExecStartPre= and the like may be given more than once)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, separator, value = line.partition("=")
        assert section is not None and separator, f"not a line of a unit file: {raw!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def only(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"the README's unit should set {key}= once, not {values!r}"
    return values[0]


def command_line(value: str) -> list[str]:
    """An Exec line split as systemd splits it, for plain lines: shlex agrees with systemd's quoting, but knows
    nothing of its prefixes (-@+!:), %-specifiers and $VARIABLES, so lines with those are refused here."""
    assert not value.startswith(tuple("-@+!:")), f"{value!r}: this test does not know systemd's command prefixes"
    assert "%" not in value and "$" not in value, f"{value!r}: this test does not expand specifiers or variables"
    return shlex.split(value)


def install_package(venv_dir: Path) -> None:
    """A virtual environment with what `pip install .` puts into it: the packages pyproject.toml lists, with their
    modules and declared package data, and the dependencies (those of this test run, through a .pth file).

    pip cannot build the package offline here (the build wants setuptools>=68 and wheel from the index), and a .pth
    file pointing at the repository would find files that an installed package lacks; this copies just what
    setuptools installs. WorkingDirectory holds no code, so `python -m bot` imports the installed package."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(venv_dir)
    site_packages = Path(sysconfig.get_path("purelib", "venv", vars={"base": str(venv_dir), "platbase": str(venv_dir)}))
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    for package in setuptools["packages"]:
        target = site_packages / package.replace(".", "/")
        target.mkdir(parents=True, exist_ok=True)
        for module in (ROOT / package.replace(".", "/")).glob("*.py"):
            shutil.copy2(module, target)
    for package, patterns in setuptools.get("package-data", {}).items():
        source = ROOT / package.replace(".", "/")
        for pattern in patterns:
            for path in source.glob(pattern):
                target = site_packages / package.replace(".", "/") / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    (site_packages / "shuangyou-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")


def install_unit(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """The README's unit as shuangyou.service with its installation (WorkingDirectory, the venv the Exec lines
    run) and EnvironmentFile moved into `tmp_path`; the installed unit file and its [Service] section."""
    text = readme_unit()
    service = parse_unit(text)["Service"]
    installation, environment_file = only(service, "WorkingDirectory"), only(service, "EnvironmentFile")
    assert installation.startswith("/") and environment_file.startswith("/"), "absolute paths, as systemd requires"
    installed_text = text.replace(installation, str(tmp_path / installation.lstrip("/"))).replace(
        environment_file, str(tmp_path / environment_file.lstrip("/"))
    )
    unit_file = tmp_path / "shuangyou.service"
    unit_file.write_text(installed_text, encoding="utf-8")
    installed = parse_unit(installed_text)["Service"]

    workdir = Path(only(installed, "WorkingDirectory"))
    workdir.mkdir(parents=True)
    (workdir / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    interpreter = Path(command_line(only(installed, "ExecStart"))[0])
    assert interpreter.is_relative_to(workdir), f"ExecStart should run the installation's venv, not {interpreter}"
    install_package(interpreter.parent.parent)
    Path(only(installed, "EnvironmentFile")).parent.mkdir(parents=True, exist_ok=True)
    return unit_file, installed


def documented_variables() -> list[str]:
    """What README.md says goes into the EnvironmentFile ("with `BOT_TOKEN=...` and `DATABASE_URL=...` in ...")."""
    environment_file = only(parse_unit(readme_unit())["Service"], "EnvironmentFile")
    text = README.read_text(encoding="utf-8")
    sentence = re.search(rf"with ((?:(?!\n\n).)+?) in `{re.escape(environment_file)}`", text, flags=re.DOTALL)
    assert sentence, f"README.md should say what goes into {environment_file}"
    return re.findall(r"`([A-Z][A-Z0-9_]*)=", sentence.group(1))


def write_environment_file(path: Path, *, database: Path, base_url: str) -> None:
    """The EnvironmentFile with the variables the README puts there, and this test's Bot API server (a
    self-hosted one, as the README's configuration table allows)."""
    values = {"BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    documented = documented_variables()
    assert {"BOT_TOKEN", "DATABASE_URL"} <= set(documented) <= set(values), documented
    lines = [f"{name}={values[name]}" for name in documented]
    lines += [f"TELEGRAM_BASE_URL={base_url}", f"TELEGRAM_BASE_FILE_URL={base_url.removesuffix('/bot')}/file/bot"]
    path.write_text("# Shuangyou\n" + "\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # "readable by that user only"


def read_environment_file(path: Path) -> dict[str, str]:
    """The assignments as systemd reads an EnvironmentFile: KEY=VALUE lines, # and ; comments, outer quotes off."""
    variables: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, separator, value = line.partition("=")
        assert separator, f"{path}: not an assignment: {raw!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        variables[key.strip()] = value
    return variables


def service_environment(environment_file: Path, home: Path) -> dict[str, str]:
    """What the service's processes get: systemd's own PATH (no LANG: none is configured for the manager on a
    minimal server), the variables of User=, then the EnvironmentFile's."""
    environment = {"PATH": SYSTEMD_PATH, "HOME": str(home), "USER": "shuangyou", "LOGNAME": "shuangyou"}
    environment["SHELL"] = "/usr/sbin/nologin"
    environment.update(read_environment_file(environment_file))
    return environment


def schema_revision(database: Path) -> str | None:
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


async def first_answer(api: FakeBotApi, bot: asyncio.subprocess.Process) -> str:
    """The bot's first message to Ann; fails as soon as the bot's process ends without one."""
    answered = asyncio.ensure_future(answers(api, 1))
    ended = asyncio.ensure_future(bot.wait())
    await asyncio.wait({answered, ended}, return_when=asyncio.FIRST_COMPLETED)
    if not answered.done():
        answered.cancel()
        output = await bot.stdout.read() if bot.stdout else b""
        raise AssertionError(f"the bot ended with status {bot.returncode} before answering\n{output.decode()}")
    ended.cancel()
    return answered.result()[0]


def test_systemd_analyze_verify_accepts_the_readme_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze") or shutil.which("/usr/bin/systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit_file, _ = install_unit(tmp_path)

    # No systemd runs as PID 1 here: verify loads the unit offline and checks its syntax, its keys and values,
    # its dependencies, and that the Exec commands are absolute and executable. User=shuangyou does not exist on
    # this machine and the unit is outside the unit search path; systemd 252 says nothing about either. Only lines
    # about other units of this machine (verify loads the targets and services it names) are not ours to judge.
    result = subprocess.run(
        [analyze, "verify", str(unit_file)], capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert [line for line in output.splitlines() if unit_file.name in line] == []


async def test_the_readme_unit_migrates_answers_start_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    _, service = install_unit(tmp_path)
    workdir = Path(only(service, "WorkingDirectory"))
    database = workdir / "shuangyou.db"
    api = FakeBotApi()
    api.ensure_user(ANN)
    async with HttpBotApi(api) as server:
        environment_file = Path(only(service, "EnvironmentFile"))
        write_environment_file(environment_file, database=database, base_url=server.base_url)
        # User=shuangyou: the commands run as whoever runs the tests. Switching user needs root and an account,
        # and this test creates nothing outside its tmp directory, so the unprivileged user's permissions on the
        # installation and the database are not exercised. HOME is that of a system user without a home directory.
        environment = service_environment(environment_file, home=tmp_path / "no-home")

        for pre in service.get("ExecStartPre", []):
            process = await asyncio.create_subprocess_exec(
                *command_line(pre), cwd=workdir, env=environment,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await asyncio.wait_for(process.communicate(), COMMAND_SECONDS)
            assert process.returncode == 0, f"{pre}: exit status {process.returncode}\n{output.decode()}"
            assert b"Traceback" not in output, output.decode()
        assert await asyncio.to_thread(schema_revision, database) == head_revision()

        # A process group of its own, so that stopping it reaches every process it started, as systemd's
        # KillMode=control-group does.
        bot = await asyncio.create_subprocess_exec(
            *command_line(only(service, "ExecStart")), cwd=workdir, env=environment, process_group=0,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            await say(api, "/start")
            assert "Welcome to Shuangyou" in await first_answer(api, bot)

            os.killpg(bot.pid, signal.SIGTERM)  # systemctl stop
            stopping = time.monotonic()
            output, _ = await asyncio.wait_for(bot.communicate(), STOP_SECONDS)
            stopped_in = time.monotonic() - stopping
        finally:
            if bot.returncode is None:
                os.killpg(bot.pid, signal.SIGKILL)
                await bot.wait()

    # A clean stop, which Restart=on-failure leaves alone: the bot handles SIGTERM and exits with status 0.
    assert bot.returncode == 0, f"exit status {bot.returncode} after {stopped_in:.1f} s\n{output.decode()}"
    assert b"Traceback" not in output, output.decode()
