"""Every code block of every README runs as written, or says why not (docs that cannot drift).

The READMEs are the root ``README.md`` and ``contrib/*/README.md``. Each fenced block is
handled by its language, unless an HTML comment on the line before it says otherwise:

- ``python``: run as a script (``python block.py``); it must exit 0.
- ``bash``, ``sh``, ``shell``: run with ``bash -euo pipefail``; ``console``: the lines after
  ``$ `` are the commands (a line ending in ``\\`` continues), the rest is their output.
  ``adf``, ``python`` and ``pytest`` are this interpreter's. ``pip install`` of this
  checkout or of ``contrib/*`` is checked, not run (the test environment has them installed:
  the path must exist, its extras must be declared, and a distribution of this repository is
  never installed by name from the package index, where it is not published); any other local
  directory (a plugin made by ``adf new plugin``) is really installed, into a directory of the
  block's own that is put on ``PYTHONPATH``.
- ``toml``: parsed; a pipeline file (``pipeline = ...``) is drawn with ``adf graph -f``
  (every ``${VAR}`` set), which resolves every component and converts every option.
- ``json``: parsed. ``text`` or no language: output shown to the reader, not run.

Commands run in a fresh directory that looks like a checkout: the repository's top-level
entries are linked there and ``examples/`` is copied, so that ``adf run -f examples/...``
works and writes its ``out/`` there. Directives (an HTML comment right before the fence):

- ``<!-- file: NAME -->``, ``<!-- example: NAME -->``: a file's content, checked against the
  tested file by the test named next to it (``tests/cli/test_readme.py``,
  ``tests/executors/test_scaling_example.py``); a python one must compile.
- ``<!-- doc: generated: NAME PATH -->``: an excerpt of the file PATH that ``adf new plugin
  NAME`` writes; it must appear there, verbatim.
- ``<!-- doc: needs: s3 -->``: run against moto's S3 server on 127.0.0.1 (buckets ``raw``
  and ``curated``, objects under ``raw/orders/``), through ``AWS_ENDPOINT_URL_S3``.
- ``<!-- doc: not run: REASON -->``: not run as is; say why. ``(tested in PATH)`` in the
  reason names the test that runs it another way; PATH must exist.

A block in another language, or a directive this file does not know, fails the test: a new
section of a README is checked from the day it is written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
READMES = [README, *sorted(ROOT.glob("contrib/*/README.md"))]
SHELL = ("bash", "sh", "shell", "console")
OUTPUT = ("", "text")
_FENCE = re.compile(r"^(?P<fence>```|~~~)(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.M | re.S)
_COMMENT = re.compile(r"^<!--\s*(?P<text>.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a README and the directive before it."""

    readme: Path
    line: int
    lang: str
    text: str
    comment: str  # the HTML comment on the line before the fence, or ""

    @property
    def name(self) -> str:
        return f"{self.readme.relative_to(ROOT)}:{self.line}"

    @property
    def directive(self) -> str:
        return self.comment[len("doc:"):].strip() if self.comment.startswith("doc:") else ""

    @property
    def kind(self) -> str:
        """file | generated | not run | output | python | shell | toml | json | s3."""
        if self.comment.startswith(("file:", "example:")):
            return "file"
        directive = self.directive
        if directive.startswith("not run:"):
            return "not run"
        if directive.startswith("generated:"):
            return "generated"
        if directive == "needs: s3":
            return "s3"
        if directive:
            return f"unknown directive {self.comment!r}"
        if self.lang in OUTPUT or self.comment.startswith("cli-reference"):
            return "output"
        if self.lang in SHELL:
            return "shell"
        if self.lang in ("python", "toml", "json"):
            return self.lang
        return f"unknown language {self.lang!r}"


def blocks(readme: Path) -> list[Block]:
    text = readme.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[:match.start()].rstrip().splitlines()
        comment = _COMMENT.match(before[-1].strip()) if before else None
        found.append(Block(readme, text.count("\n", 0, match.start()) + 1, match["lang"],
                           match["body"], comment["text"] if comment else ""))
    return found


ALL = [block for readme in READMES for block in blocks(readme)]


def of_kind(*kinds: str) -> list[Block]:
    return [b for b in ALL if b.kind in kinds]


def ids(block: Block) -> str:
    return block.name


# ----------------------------------------------------------------------------- the runner


PIP_CHECK = '''
"""pip, as the README blocks use it: check this repository's paths, install other ones."""
import os, re, subprocess, sys, tomllib
from pathlib import Path

ROOT = Path(os.environ["ADF_DOCS_ROOT"])
OURS = {tomllib.loads(p.read_text())["project"]["name"]: p.parent
        for p in [ROOT / "pyproject.toml", *ROOT.glob("contrib/*/pyproject.toml")]}
args = sys.argv[1:]
if not args or args[0] != "install":
    sys.exit(f"README pip: only `pip install` is understood here, not {args!r}")
requirements, flags = [], []
for arg in args[1:]:
    (flags if arg.startswith("-") else requirements).append(arg)
to_install = []
for requirement in requirements:
    match = re.fullmatch(r"(?P<target>[^\\[]+)(?:\\[(?P<extras>[^\\]]*)\\])?", requirement)
    target, extras = match["target"], [e.strip() for e in (match["extras"] or "").split(",") if e]
    if target.startswith((".", "/", "~")) or os.sep in target:
        path = Path(target).expanduser().resolve()
        if not (path / "pyproject.toml").is_file():
            sys.exit(f"README pip: {requirement!r}: no pyproject.toml in {path}")
        project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
        declared = project.get("optional-dependencies", {})
        unknown = [e for e in extras if e not in declared]
        if unknown:
            sys.exit(f"README pip: {requirement!r}: {project['name']} has no extra "
                     f"{unknown[0]!r} (extras: {', '.join(declared) or 'none'})")
        if project["name"] in OURS:
            print(f"pip: {project['name']} from {target} (checked; installed for the tests)")
        else:
            to_install.append(str(path))
    elif re.sub(r"[-_.]+", "-", target.lower()) in OURS:
        sys.exit(f"README pip: {requirement!r} would install from the package index, where "
                 f"{target} is not published yet: "
                 f"use its path in this checkout, e.g. pip install ./"
                 f"{OURS[target].relative_to(ROOT) if target in OURS else '.'}")
    else:
        print(f"pip: {requirement} comes from the package index (a tool; not installed here)")
if to_install:
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--target", os.environ["ADF_DOCS_SITE"],
                           *to_install], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"README pip: installing {to_install} failed: {done.stderr}")
    print(f"pip: installed {', '.join(to_install)}")
'''

PRELUDE = '''
adf() { "$ADF_DOCS_PY" -m adf_core.cli "$@"; }
python() { "$ADF_DOCS_PY" "$@"; }
pytest() { "$ADF_DOCS_PY" -m pytest -p no:cacheprovider -p no:hypothesispytest "$@"; }
pip() { "$ADF_DOCS_PY" "$ADF_DOCS_PIPCHECK" "$@"; }
export PYTHONPATH="$ADF_DOCS_SITE${PYTHONPATH:+:$PYTHONPATH}"
'''


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory that looks like this checkout: entries linked, ``examples/`` copied."""
    where = tmp_path / "checkout"
    where.mkdir()
    for entry in ROOT.iterdir():
        if entry.name.startswith(".") or entry.name in ("out", "build", "dist"):
            continue
        if entry.name == "examples":
            shutil.copytree(entry, where / entry.name)
        else:
            (where / entry.name).symlink_to(entry)
    return where


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ADF_", "NOTIFY_", "AWS_")) and k != "PYTHONPATH"}
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    check = tmp_path / "pip_check.py"
    check.write_text(PIP_CHECK)
    env.update(ADF_DOCS_PY=sys.executable, ADF_DOCS_PIPCHECK=str(check),
               ADF_DOCS_SITE=str(site), ADF_DOCS_ROOT=str(ROOT), NO_COLOR="1", **extra)
    if "ADF_REQUIRE_SERVICES" in os.environ:
        env["ADF_REQUIRE_SERVICES"] = os.environ["ADF_REQUIRE_SERVICES"]
    return env


def shell_script(block: Block) -> str:
    if block.lang != "console":
        return block.text
    commands: list[str] = []
    continuing = False
    for line in block.text.splitlines():
        if continuing:
            commands.append(line)
        elif line.startswith("$ "):
            commands.append(line[2:])
        else:
            continue
        continuing = line.rstrip().endswith("\\")
    return "\n".join(commands) + "\n"


def run_block(block: Block, where: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if block.lang == "python":
        script = where / "readme_block.py"
        script.write_text(block.text)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", PRELUDE + shell_script(block)]
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True,
                          timeout=600)


def check_ran(block: Block, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, (
        f"{block.name} ({block.lang}) failed with exit code {done.returncode}:\n"
        f"--- block ---\n{block.text}--- stdout ---\n{done.stdout[-3000:]}\n"
        f"--- stderr ---\n{done.stderr[-5000:]}")


# ------------------------------------------------------------------------------ the tests


def test_the_readmes_have_blocks_and_every_block_is_understood() -> None:
    assert {b.readme for b in ALL} == set(READMES)
    problems = [f"{b.name}: {b.kind}" for b in ALL if b.kind.startswith("unknown")]
    for block in of_kind("not run"):
        reason = block.directive[len("not run:"):].strip()
        if not reason:
            problems.append(f"{block.name}: `not run:` needs a reason")
        for tested in re.findall(r"tested in ([\w./-]+)", reason):
            if not (ROOT / tested).exists():
                problems.append(f"{block.name}: {tested} (named as its test) does not exist")
    assert not problems, "\n".join(problems)
    assert len(of_kind("python", "shell", "toml", "s3", "generated")) >= 10


@pytest.mark.parametrize("block", of_kind("python", "shell"), ids=ids)
def test_block_runs(block: Block, checkout: Path, tmp_path: Path) -> None:
    check_ran(block, run_block(block, checkout, environment(tmp_path)))


@pytest.mark.parametrize("block", of_kind("toml"), ids=ids)
def test_toml_block_is_a_valid_pipeline(block: Block, checkout: Path, tmp_path: Path) -> None:
    data = tomllib.loads(block.text)
    if "pipeline" not in data:
        return  # a pyproject.toml or settings excerpt: parsing it is the check
    names = set(re.findall(r"\$\{(\w+)", block.text))
    path = checkout / "readme_flow.toml"
    path.write_text(block.text)
    if re.search(r"\bs3\b", str(data["pipeline"])):
        pytest.importorskip("adf_plugin_s3", reason="adf-plugin-s3 is not installed")
    env = environment(tmp_path, **{n: "sqlite:///out/readme.db" for n in names})
    done = subprocess.run([sys.executable, "-m", "adf_core.cli", "graph", "-f", str(path)],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=120)
    check_ran(block, done)


@pytest.mark.parametrize("block", of_kind("json"), ids=ids)
def test_json_block_parses(block: Block) -> None:
    json.loads(block.text)


@pytest.mark.parametrize("block", of_kind("file"), ids=ids)
def test_file_blocks_compile(block: Block) -> None:
    if block.lang == "python":
        compile(block.text, block.name, "exec")
    elif block.lang == "toml":
        tomllib.loads(block.text)


@pytest.mark.parametrize("block", of_kind("generated"), ids=ids)
def test_generated_excerpts_are_what_adf_new_plugin_writes(block: Block) -> None:
    from adf_core.cli.new import plugin_names, render_files

    name, path = block.directive[len("generated:"):].split()
    files = render_files(plugin_names(name))
    assert path in files, f"{block.name}: adf new plugin {name} writes no {path}"
    assert block.text.strip("\n") in files[path], (
        f"{block.name} is not an excerpt of {path} as `adf new plugin {name}` writes it:\n"
        f"{block.text}")


# ----------------------------------------------------------------------------------- S3


ORDERS = [{"id": 1, "region": "eu", "amount": 12.5}, {"id": 2, "region": "us", "amount": 7.0}]


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[dict[str, str]]:
    """moto's S3 on 127.0.0.1 with the buckets and objects the S3 README uses."""
    pytest.importorskip("adf_plugin_s3", reason="adf-plugin-s3 is not installed")
    moto_server = pytest.importorskip("moto.server", reason="moto is not installed")
    import boto3

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}"}
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing",
        region_name="us-east-1").client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"])
    for bucket in ("raw", "curated"):
        client.create_bucket(Bucket=bucket)
    lines = "".join(json.dumps(r) + "\n" for r in ORDERS)
    for key in ("orders/2026-11-24/part-1.jsonl", "orders/2026-11-24/part-2.jsonl"):
        client.put_object(Bucket="raw", Key=key, Body=lines.encode())
    yield env
    server.stop()


@pytest.mark.parametrize("block", of_kind("s3"), ids=ids)
def test_s3_block_runs_against_moto(block: Block, checkout: Path, tmp_path: Path,
                                    moto_s3: dict[str, str]) -> None:
    if block.lang == "toml":
        pytest.fail(f"{block.name}: a toml block needs no S3 (it is only drawn): remove "
                    f"`needs: s3`")
    check_ran(block, run_block(block, checkout, environment(tmp_path, **moto_s3)))


# ------------------------------------------------------------------ the runner is strict


def test_the_runner_refuses_what_it_cannot_check(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(textwrap.dedent("""\
        ```ruby
        puts 1
        ```
        <!-- doc: mystery -->
        ```bash
        adf plugins
        ```
        <!-- doc: not run: -->
        ```bash
        adf plugins
        ```
        """))
    kinds = [b.kind for b in blocks(readme)]
    assert kinds == ["unknown language 'ruby'", "unknown directive 'doc: mystery'", "not run"]


def test_pip_of_this_repository_by_name_is_refused(checkout: Path, tmp_path: Path) -> None:
    block = Block(README, 0, "bash", "pip install 'adf-core[postgres]'\n", "")
    done = run_block(block, checkout, environment(tmp_path))
    assert done.returncode == 1
    assert "would install from the package index, where adf-core is not published" in (
        done.stderr)
    extra = Block(README, 0, "bash", "pip install '.[postgress]'\n", "")
    done = run_block(extra, checkout, environment(tmp_path))
    assert "adf-core has no extra 'postgress'" in done.stderr
    fine = Block(README, 0, "console", "$ pip install '.[postgres]' ./contrib/adf-plugin-s3\n"
                 "output line\n", "")
    check_ran(fine, run_block(fine, checkout, environment(tmp_path)))
