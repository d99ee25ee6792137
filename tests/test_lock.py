"""constraints.txt (written by scripts/lock) pins every package that pyproject.toml's dependencies bring in, at
versions those dependencies allow, and the tests run on exactly those versions."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT_EXTRAS = ("test",)


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [entry for extra in PROJECT_EXTRAS for entry in project["optional-dependencies"][extra]]
    return [Requirement(entry) for entry in [*project["dependencies"], *extras]]


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = {key: str(value) for key, value in default_environment().items()}
    return any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras)


def installed_closure() -> dict[str, tuple[Version, list[Requirement]]]:
    """Every distribution the declared dependencies pull in, as installed here: name → (version, who wanted it)."""
    found: dict[str, tuple[Version, list[Requirement]]] = {}
    expanded: set[tuple[str, str]] = set()  # (name, extra): whose requirements were followed
    queue = declared()
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        distribution = metadata.distribution(requirement.name)
        found.setdefault(name, (Version(distribution.version), []))[1].append(requirement)
        extras = {extra for extra in {"", *requirement.extras} if (name, extra) not in expanded}
        expanded |= {(name, extra) for extra in extras}
        queue += [
            needed for needed in map(Requirement, distribution.requires or []) if applies(needed, frozenset(extras))
        ]
    return found


def test_the_lock_pins_each_declared_dependency_within_its_bounds() -> None:
    pins = locked()

    outside = [
        f"{requirement} is locked at {pin}"
        for requirement in declared()
        if (pin := pins.get(canonicalize_name(requirement.name))) is None or pin not in requirement.specifier
    ]
    assert outside == [], "run `bash scripts/lock` after changing pyproject.toml"


def test_the_tests_run_on_exactly_the_locked_versions() -> None:
    pins = locked()
    closure = installed_closure()

    differing = {
        name: f"installed {version}, locked {pins.get(name)}"
        for name, (version, _wanted) in closure.items()
        if pins.get(name) != version
    }
    assert differing == {}, "install with `pip install -c constraints.txt -e '.[test]'`, or run `bash scripts/lock`"
    outside = [
        f"{name} {version} does not satisfy {requirement}"
        for name, (version, wanted) in closure.items()
        for requirement in wanted
        if not requirement.specifier.contains(version, prereleases=True)
    ]
    assert outside == []
    assert set(pins) - set(closure) == set(), "constraints.txt pins packages nothing needs: run `bash scripts/lock`"
