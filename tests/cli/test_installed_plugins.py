"""Real distributions, pip-installed into an isolated virtual environment.

The project and ``tests/dists/*`` are installed with ``--no-deps --no-build-isolation`` into
a venv that also sees this interpreter's packages (pluggy, click, structlog): no network, a
few seconds. Then the real ``adf`` console script finds the plugin through its entry point,
runs it in a three-tier flow from the command line and from a pipeline file, and survives
distributions that raise on import, call sys.exit() on import, or return unusable entries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTS = ROOT / "tests" / "dists"
pytestmark = pytest.mark.timeout(600)


def _copy(source: Path, target: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", ".tox", "build", "dist", "*.egg-info", "__pycache__",
                                    ".venv*", ".mypy_cache", ".ruff_cache", ".hypothesis")
    shutil.copytree(source, target, ignore=ignore)
    return target


def _can_build_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1; before that it needs ``wheel``."""
    import importlib.util
    from importlib.metadata import version

    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the project, adf-plugin-hello, adf-plugin-observer and the unruly plugins
    installed (adf-plugin-broken raises on import, adf-plugin-exits calls sys.exit(),
    adf-plugin-sloppy returns unusable entries beside good ones).

    The venv sees this interpreter's site-packages through a ``.pth`` file (pluggy, click,
    structlog, setuptools), below its own, so nothing is downloaded.
    """
    import site

    if not _can_build_wheels():
        reason = "building wheels offline needs setuptools>=70.1 or wheel (tox has them)"
        if os.environ.get("ADF_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("venv")
    env_dir = base / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([str(python), "-c", code], check=True, capture_output=True,
                             text=True).stdout.strip()
    parents = [*site.getsitepackages(), site.getusersitepackages()]
    (Path(purelib) / "_adf_test_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents if Path(p).is_dir())
    )
    sources = [_copy(ROOT, base / "src" / "project")]
    sources += [_copy(DISTS / name, base / "src" / name)
                for name in ("adf-plugin-hello", "adf-plugin-broken", "adf-plugin-exits",
                             "adf-plugin-sloppy", "adf-plugin-observer")]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", *map(str, sources)],
        check=True, env=clean_env(), cwd=base,
    )
    return env_dir


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ADF_", "PYTHON", "PIP_", "VIRTUAL_ENV"))}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def adf(venv: Path, *args: str, cwd: Path | None = None, **env: str) -> Any:
    return subprocess.run([str(venv / "bin" / "adf"), *args], capture_output=True, text=True,
                          env=clean_env(**env), cwd=cwd, timeout=120)


def test_adf_plugins_lists_the_installed_plugin_and_the_broken_one(venv: Path) -> None:
    result = adf(venv, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    hello = plugins["hello"]
    assert (hello["distribution"], hello["version"], hello["status"]) == (
        "adf-plugin-hello", "0.1.0", "loaded")
    assert {(c["name"], c["kind"]) for c in hello["components"]} == {
        ("hello", "source"), ("shout", "transform"), ("hello", "destination")}
    broken = plugins["broken"]
    assert broken["status"] == "failed" and broken["distribution"] == "adf-plugin-broken"
    assert "frobnicate" in broken["error"]
    observer = plugins["observer"]  # no component: what it provides are lifecycle hooks
    assert observer["components"] == [] and "adf_run_started" in observer["hooks"]
    table = adf(venv, "plugins")
    assert table.returncode == 0 and "adf-plugin-hello" in table.stdout
    (row,) = [line for line in table.stdout.splitlines() if line.startswith("observer ")]
    assert "adf-plugin-observer" in row and row.endswith("observer (run, component hooks)")
    assert "error: plugin 'broken': ImportError" in table.stderr


def test_the_plugin_runs_in_a_three_tier_flow(venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "greetings.txt"
    result = adf(venv, "run", "--source", "people=hello", "--transform", "shout",
                 "--dest", "out=hello", "-o", "people.names=ada,grace", "-o", f"out.path={out}")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "HELLO, ADA\nHELLO, GRACE\n"
    described = adf(venv, "describe", "hello", "--kind", "source")
    assert "names       list[str] | None  None" in described.stdout
    assert "who to greet" in described.stdout


def test_the_plugin_runs_from_a_pipeline_file(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "flow.toml").write_text(
        'pipeline = "people=hello | shout | out=hello"\n'
        "[components.people]\n"
        'names = ["${FIRST}", "linus"]\n'
        "[components.out]\n"
        'path = "greetings.txt"\n'
        'field = "name"\n'
    )
    result = adf(venv, "run", "-f", "flow.toml", cwd=tmp_path, FIRST="ada")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "greetings.txt").read_text() == "ada\nlinus\n"


def test_broken_plugins_only_fail_flows_that_need_them(venv: Path) -> None:
    strict = adf(venv, "plugins", ADF_STRICT_PLUGINS="1")
    assert strict.returncode == 1 and "adf-plugin-broken" in strict.stderr
    blocked = adf(venv, "plugins", "--json", ADF_DISABLE_PLUGINS="broken")
    statuses = {p["name"]: p["status"] for p in json.loads(blocked.stdout)["plugins"]}
    assert statuses["broken"] == "blocked" and statuses["hello"] == "loaded"
    missing = adf(venv, "run", "broken | hello", "--dry-run")
    assert missing.returncode == 2
    assert "Plugin 'broken' (adf-plugin-broken) failed to load" in missing.stderr
    only = adf(venv, "components", "--json", ADF_LOAD_PLUGINS="hello")
    assert {c["name"] for c in json.loads(only.stdout)} == {"hello", "shout"}


def test_a_plugin_calling_sys_exit_on_import_fails_alone(venv: Path, tmp_path: Path) -> None:
    for command in (["--version"], ["--help"], ["components"], ["describe", "hello"]):
        done = adf(venv, *command)
        assert done.returncode == 0, (command, done.stderr)
    listed = adf(venv, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    exits = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["exits"]
    assert exits["status"] == "failed" and exits["distribution"] == "adf-plugin-exits"
    assert exits["error"] == "called sys.exit(3) while importing"
    out = tmp_path / "greetings.txt"
    run = adf(venv, "run", "hello | out=hello", "-o", f"out.path={out}")
    assert run.returncode == 0 and out.read_text() == "hello, world\n"
    strict = adf(venv, "plugins", ADF_STRICT_PLUGINS="1")
    assert strict.returncode == 1 and "called sys.exit(3)" in strict.stderr


def test_unusable_hook_entries_are_refused_and_the_good_ones_kept(venv: Path,
                                                                  tmp_path: Path) -> None:
    listed = adf(venv, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    sloppy = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["sloppy"]
    assert sloppy["status"] == "failed"
    assert {(c["name"], c["kind"]) for c in sloppy["components"]} == {
        ("tally", "source"), ("sink", "destination")}
    for part in ("the name 42 (int) is not a string", "'answer' maps to 42 (int)",
                 "Reader is a class", "Settings is a class whose instances are not callable"):
        assert part in sloppy["error"], sloppy["error"]
    for command in (["plugins"], ["components"], ["components", "--json"],
                    ["describe", "tally"]):
        done = adf(venv, *command)
        assert done.returncode == 0, (command, done.stderr)
    names = {c["name"] for c in json.loads(adf(venv, "components", "--json").stdout)}
    assert {"tally", "sink"} <= names and not {"42", "answer", "reader", "settings"} & names

    mark, out = tmp_path / "ran", tmp_path / "count"
    for bad in ("answer", "reader", "settings"):
        for extra in ([], ["--dry-run"]):
            done = adf(venv, "run", f"tally, {bad} | sink", "-o", f"sink.path={out}", *extra,
                       SLOPPY_MARK=str(mark))
            assert done.returncode == 2, (bad, done.stderr)
            assert f"source {bad!r} from plugin 'sloppy' (adf-plugin-sloppy) cannot be used" \
                in done.stderr
            assert not mark.exists() and not out.exists(), "nothing ran"
    good = adf(venv, "run", "tally | sink", "-o", f"sink.path={out}", SLOPPY_MARK=str(mark))
    assert good.returncode == 0, good.stderr
    assert out.read_text() == "1" and mark.exists()


def test_an_installed_plugin_observes_runs_through_the_lifecycle_hooks(venv: Path,
                                                                        tmp_path: Path) -> None:
    log = tmp_path / "observed.jsonl"
    out = tmp_path / "greetings.txt"
    args = ["run", "people=hello | shout | out=hello", "-o", "people.names=ada,grace",
            "-o", f"out.path={out}", "--json", "-q"]
    done = adf(venv, *args, ADF_OBSERVER_LOG=str(log))
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [line["hook"] for line in lines] == [
        "run_started", "component_finished", "component_finished", "component_finished",
        "run_finished"]
    assert {line["run_id"] for line in lines} == {run_id}
    finished = {line["alias"]: line for line in lines if line["hook"] == "component_finished"}
    assert {a: (f["status"], f["records_in"], f["records_out"]) for a, f in finished.items()} \
        == {"people": ("succeeded", 0, 2), "shout": ("succeeded", 2, 2),
            "out": ("succeeded", 2, 0)}
    assert lines[-1]["status"] == "succeeded" and lines[-1]["error"] is None
    assert lines[-1]["components"]["shout"]["records_out"] == 2

    log.unlink()
    broken = adf(venv, *args[:-2], "--log-format", "json", ADF_OBSERVER_LOG=str(log),
                 ADF_OBSERVER_FAIL="1")
    assert broken.returncode == 0, "a failing observer never fails the run"
    assert out.read_text() == "HELLO, ADA\nHELLO, GRACE\n"
    failures = [json.loads(x) for x in broken.stderr.splitlines()
                if '"observer.failed"' in x]
    assert len(failures) == 3 and failures[0]["observer"] == "observer"
    assert failures[0]["hook"] == "adf_component_finished"
    assert "the observer broke" in failures[0]["error"]
    assert [json.loads(x)["hook"] for x in log.read_text().splitlines()] == [
        "run_started", "run_finished"]

    blocked = adf(venv, *args, ADF_OBSERVER_LOG=str(log), ADF_DISABLE_PLUGINS="observer")
    assert blocked.returncode == 0
    assert len(log.read_text().splitlines()) == 2, "a blocked plugin observes nothing"
