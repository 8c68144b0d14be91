"""Each service's Dockerfile: a multi-stage build that installs only that service and
lfi-shared from the lock, a non-root runtime with a healthcheck, and a layout in which the
service's CLI finds its migrations. Checked by reading the files (BuildKit's own parser) and by
replaying the builder's `uv sync` steps on exactly the files the Dockerfile copies."""

from __future__ import annotations

import http.server
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from deploy_support import (
    REPO,
    all_services,
    context_files,
    copy_flags,
    database_services,
    dockerfile_stages,
    dockerignore_patterns,
    dockerignored,
    service_port,
    workspace_dependencies,
)

SERVICES = all_services()
IMAGE_PYTHON = "3.11"


def dockerfile_of(name: str) -> Path:
    return REPO / "services" / name / "Dockerfile"


def test_every_service_has_a_dockerfile() -> None:
    assert SERVICES, "no services found"
    missing = [name for name in SERVICES if not dockerfile_of(name).is_file()]
    assert not missing, f"services without a Dockerfile: {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_image_is_built_in_stages_on_python_slim(name: str) -> None:
    stages = dockerfile_stages(dockerfile_of(name))
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    runtime = stages[-1]
    assert runtime.base.startswith(f"python:{IMAGE_PYTHON}-slim"), runtime.base
    # The venv built in the builder must run on the runtime's interpreter.
    assert stages[0].base == runtime.base


@pytest.mark.parametrize("name", SERVICES)
def test_runtime_runs_as_a_numeric_non_root_user(name: str) -> None:
    users = dockerfile_stages(dockerfile_of(name))[-1].all("USER")
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].value[0]
    assert re.fullmatch(r"\d+(:\d+)?", user), (
        f"USER {user}: use a numeric UID so Kubernetes can enforce runAsNonRoot")
    uid, _, gid = user.partition(":")
    assert int(uid) != 0 and (not gid or int(gid) != 0), f"USER {user} is root"


@pytest.mark.parametrize("name", SERVICES)
def test_dependencies_come_from_the_lock_for_this_service_only(name: str) -> None:
    stages = dockerfile_stages(dockerfile_of(name))
    runs = [c for stage in stages for c in stage.all("RUN")]
    syncs = [c.value[0] for c in runs if "uv sync" in c.value[0]]
    assert syncs, "no `uv sync` step"
    for command in syncs:
        assert "--frozen" in command or "--locked" in command, f"not from the lock: {command}"
        assert "--no-dev" in command, f"installs the dev group: {command}"
        assert f"--package lfi-{name}" in command, f"not only lfi-{name}: {command}"
        assert "--all-packages" not in command
    assert "--no-editable" in syncs[-1], "the installed packages must not point at sources"
    for command in runs:
        assert not re.search(r"\bpip3? install\b", command.value[0]), (
            f"installs outside the lock: {command.original}")
    assert not any(stage.all("ADD") for stage in stages), "ADD: use COPY"


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
def test_lock_matches_the_workspace() -> None:
    """The images install with --frozen (the other workspace members are not in the build
    context, so uv cannot re-check the lock there): a stale lock would ship stale versions."""
    result = subprocess.run(["uv", "lock", "--check"], cwd=REPO, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_build_copies_only_its_own_service_and_the_workspace_packages_it_needs(name: str) -> None:
    """From the build context: the workspace manifest and lock, this service and the workspace
    packages it depends on in uv.lock (lfi-shared, lfi-contracts), and nothing else."""
    needed = workspace_dependencies(f"lfi-{name}")
    assert f"services/{name}" in needed and "shared" in needed, needed
    allowed_files = {"pyproject.toml", "uv.lock"}
    allowed_dirs = {PurePosixPath(folder) for folder in needed}
    copied_dirs: set[PurePosixPath] = set()
    for stage in dockerfile_stages(dockerfile_of(name)):
        for command in stage.all("COPY"):
            if "from" in copy_flags(command):
                continue
            for source in command.value[:-1]:
                path = PurePosixPath(source.rstrip("/") or ".")
                owners = [d for d in allowed_dirs if path == d or d in path.parents]
                assert str(path) in allowed_files or owners, (
                    f"{command.original}: copies {source} from the build context")
                if path in allowed_dirs:
                    copied_dirs.add(path)
    assert copied_dirs == allowed_dirs, f"workspace packages not copied: {allowed_dirs - copied_dirs}"


@pytest.mark.parametrize("name", SERVICES)
def test_runtime_declares_port_host_healthcheck_and_command(name: str) -> None:
    runtime = dockerfile_stages(dockerfile_of(name))[-1]
    port = service_port(name)
    exposed = [v for c in runtime.all("EXPOSE") for v in c.value]
    assert exposed == [str(port)], f"EXPOSE {exposed}, the service listens on {port}"
    env = runtime.env()
    assert env.get(f"LFI_{name.upper()}_HOST") == "0.0.0.0", "must listen beyond loopback"
    checks = runtime.all("HEALTHCHECK")
    assert checks, "no HEALTHCHECK"
    check = checks[-1]
    assert check.value[0] == "CMD" and check.json, "HEALTHCHECK CMD in exec form"
    assert "/health/live" in " ".join(check.value)
    commands = runtime.all("CMD")
    assert commands and commands[-1].json
    assert list(commands[-1].value) == ["python", "-m", f"lfi_{name}", "serve"]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", SERVICES)
def test_healthcheck_passes_on_a_live_service_and_fails_otherwise(
        name: str, health_server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = dockerfile_stages(dockerfile_of(name))[-1].all("HEALTHCHECK")[-1]
    argv = list(check.value[1:])
    assert argv[0] == "python", "the slim image has python, not curl"
    argv[0] = sys.executable
    env = {**os.environ, f"LFI_{name.upper()}_PORT": str(health_server.server_address[1])}

    def run() -> int:
        return subprocess.run(argv, env=env, capture_output=True, timeout=30,
                              check=False).returncode

    monkeypatch.setattr(_Health, "status", 200)
    assert run() == 0
    monkeypatch.setattr(_Health, "status", 503)
    assert run() != 0


@pytest.mark.parametrize("name", database_services())
def test_migrations_are_where_the_installed_cli_looks(name: str) -> None:
    """`python -m lfi_<name> migrate` takes its service directory from the installed package's
    path; the image must put alembic.ini and migrations/ there."""
    main = importlib.import_module(f"lfi_{name}.__main__")
    # Which parent of __main__.py the CLI takes the service directory to be (parents[2]).
    level = len(Path(main.__file__).resolve().relative_to(main.SERVICE_DIR).parts) - 1
    stages = dockerfile_stages(dockerfile_of(name))
    venv = stages[0].env()["UV_PROJECT_ENVIRONMENT"]
    installed_main = (PurePosixPath(venv) / "lib" / f"python{IMAGE_PYTHON}" / "site-packages"
                      / f"lfi_{name}" / "__main__.py")
    service_dir = installed_main.parents[level]
    copied = {PurePosixPath(c.value[-1]) for c in stages[-1].all("COPY")}
    assert service_dir / "alembic.ini" in copied, f"alembic.ini not copied to {service_dir}"
    assert service_dir / "migrations" in copied, f"migrations/ not copied to {service_dir}"


def test_dockerignore_keeps_local_and_generated_files_out_of_the_context() -> None:
    patterns = dockerignore_patterns(REPO / ".dockerignore")
    for path in (".venv/bin/python", ".local/keys/private.pem", ".git/HEAD",
                 "clients/typescript/node_modules/x/index.js", "shared/src/.mypy_cache/x.json",
                 "services/referrals/tests/test_x.py", "shared/tests/conftest.py",
                 ".pytest_cache/v/x", "shared/src/lfi_shared/__pycache__/app.cpython-311.pyc",
                 ".hypothesis/examples/x", "deploy/compose/.env", ".env", "tests/deploy/x.py"):
        assert dockerignored(path, patterns), f"{path} would be sent to the builder"
    for path in ("pyproject.toml", "uv.lock", "shared/pyproject.toml",
                 "shared/src/lfi_shared/settings.py", "services/referrals/alembic.ini",
                 "services/referrals/migrations/env.py",
                 "services/gateway/src/lfi_gateway/main.py"):
        assert not dockerignored(path, patterns), f"{path} is needed by the build"


def _copy_into(source: Path, destination: Path, patterns: list[tuple[bool, re.Pattern[str]]],
               root: Path, *, trailing_slash: bool) -> None:
    """Docker's COPY of one source: a file into a folder (destination ends with /) or to a
    path; a folder's contents into the destination folder."""
    if source.is_file():
        target = destination / source.name if trailing_slash else destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return
    for path in context_files(patterns, source, root):
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the images run Python 3.11")
@pytest.mark.parametrize("name", SERVICES)
def test_build_steps_install_a_working_service_from_the_copied_files_alone(
        name: str, tmp_path: Path) -> None:
    """Replays the Dockerfile without Docker: the build context's files that its COPY lines
    name, its `uv sync` lines (with their flags), then its runtime COPY lines, under tmp_path
    standing for the image's root. The result must run the service's CLI and find its
    migrations, and hold no other service."""
    stages = dockerfile_stages(dockerfile_of(name))
    builder, runtime = stages[0], stages[-1]
    patterns = dockerignore_patterns(REPO / ".dockerignore")

    def in_image(path: str) -> Path:
        return tmp_path / path.lstrip("/")

    workdir = PurePosixPath("/")
    env = {**os.environ, **builder.env()}
    env.pop("VIRTUAL_ENV", None)
    env["UV_PROJECT_ENVIRONMENT"] = str(in_image(env["UV_PROJECT_ENVIRONMENT"]))
    env["UV_PYTHON"] = sys.executable
    env["UV_COMPILE_BYTECODE"] = "0"  # precompiling changes nothing checked here, and is slow
    for command in builder.commands:
        if command.cmd == "WORKDIR":
            workdir = workdir / command.value[0]
            in_image(str(workdir)).mkdir(parents=True, exist_ok=True)
        elif command.cmd == "COPY" and "from" not in copy_flags(command):
            *sources, destination = command.value
            for source in sources:
                _copy_into(REPO / source, in_image(str(workdir / destination)), patterns, REPO,
                           trailing_slash=destination.endswith("/"))
        elif command.cmd == "RUN":
            script = command.value[0]
            assert script.startswith("uv "), f"unexpected builder step: {script}"
            result = subprocess.run(script, shell=True, cwd=in_image(str(workdir)), env=env,
                                    capture_output=True, text=True, timeout=600, check=False)
            assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    for command in runtime.all("COPY"):
        assert copy_flags(command).get("from") == builder.name, command.original
        source, destination = command.value
        if in_image(source) != in_image(destination):
            _copy_into(in_image(source), in_image(destination), [], tmp_path,
                       trailing_slash=destination.endswith("/"))

    python = in_image(builder.env()["UV_PROJECT_ENVIRONMENT"]) / "bin" / "python"
    others = [other for other in SERVICES if other != name]
    probe = f"""
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("lfi_{name}")
assert "site-packages" in spec.origin, "installed as a link to the sources: " + spec.origin
assert importlib.util.find_spec("lfi_shared") is not None
for other in {others!r}:
    assert importlib.util.find_spec("lfi_" + other) is None, "also installed: " + other
"""
    if name in database_services():
        probe += f"""
from lfi_{name}.__main__ import SERVICE_DIR
from alembic.script import ScriptDirectory
from lfi_shared.migrations import alembic_config
config = alembic_config(SERVICE_DIR, "postgresql+asyncpg://x@localhost/x", "{name}")
heads = ScriptDirectory.from_config(config).get_heads()
assert heads, "no migration revisions found from " + str(SERVICE_DIR)
print("heads", heads)
"""
    # And the command line, as `python -m lfi_<name> --help` (in the same process: imports
    # are the slow part).
    probe += f"""
import contextlib, io, runpy
sys.argv = ["python -m lfi_{name}", "--help"]
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        runpy.run_module("lfi_{name}", run_name="__main__")
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
print(out.getvalue())
"""
    clean_env = {k: v for k, v in os.environ.items()
                 if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                            timeout=300, check=False, env=clean_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = {"serve", "migrate", "downgrade"} if name in database_services() else {"serve"}
    assert expected <= set(re.findall(r"[a-z]+", result.stdout)), result.stdout
