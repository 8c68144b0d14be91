"""What the deployment tests share: the repository's services, YAML loading, Kustomize
rendering, Dockerfile stages, Compose interpolation and `.dockerignore` matching.

Everything here reads files; nothing needs Docker or a cluster.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dockerfile
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_DIR = DEPLOY / "compose"

# The Kubernetes version the manifests are validated against (kubernetes-validate's schemas).
KUBERNETES_VERSION = "1.30"


def all_services() -> list[str]:
    """Every deployable service: a folder of services/ with a pyproject.toml."""
    return sorted(p.parent.name for p in (REPO / "services").glob("*/pyproject.toml"))


def database_services() -> list[str]:
    """The services that own a schema (they have Alembic migrations)."""
    return [name for name in all_services() if (REPO / "services" / name / "migrations").is_dir()]


def workspace_dependencies(package: str) -> set[str]:
    """The folders of the workspace packages `package` needs (itself included), per uv.lock."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    members = {p["name"]: p for p in lock["package"] if "editable" in p.get("source", {})}
    needed, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo += [d["name"] for d in members[name].get("dependencies", []) if d["name"] in members]
    return {members[name]["source"]["editable"] for name in needed}


def service_port(name: str) -> int:
    """The port a service listens on by default (its settings class)."""
    settings_class = service_settings_class(name)
    port = settings_class.model_fields["port"].default
    assert isinstance(port, int)
    return port


def service_settings_class(name: str) -> Any:
    return importlib.import_module(f"lfi_{name}.settings").Settings


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


# -- Kustomize ---------------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    """The Kustomize on this machine (`kustomize build` or `kubectl kustomize`), if any."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        probe = subprocess.run(["kubectl", "kustomize", "--help"], capture_output=True,
                               text=True, timeout=60, check=False)
        if probe.returncode == 0:
            return ["kubectl", "kustomize"]
    return None


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """The directory rendered by the real Kustomize (which must be installed)."""
    command = kustomize_command()
    assert command is not None, "no kustomize or kubectl on PATH"
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(command)} {directory} failed:\n{result.stderr}"
    return load_yaml_documents(result.stdout)


def render(directory: Path) -> list[dict[str, Any]]:
    """The directory rendered by Kustomize when installed, else by :func:`simple_build`."""
    if kustomize_command() is not None:
        return kustomize_build(directory)
    return simple_build(directory)


class UnsupportedKustomization(Exception):
    """The kustomization uses a feature :func:`simple_build` does not implement."""


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                   "StorageClass", "CustomResourceDefinition", "PriorityClass"}
_SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}


def simple_build(directory: Path) -> list[dict[str, Any]]:
    """Render a kustomization with the few features deploy/k8s uses, for machines without
    Kustomize: `resources` (files and folders), `patches` from files (JSON 6902 lists with a
    `target` of kind and optional name; strategic-merge patches of maps only), `images` and
    `namespace`. Anything else raises :class:`UnsupportedKustomization`; the tests compare the
    result with the real Kustomize wherever that is installed.
    """
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - _SUPPORTED_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources.extend(simple_build(path))
        else:
            resources.extend(load_yaml_documents(path.read_text(encoding="utf-8")))
    for patch in spec.get("patches", []):
        _apply_patch(directory, patch, resources)
    for image in spec.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    namespace = spec.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in _CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    return resources


def _apply_patch(directory: Path, patch: Mapping[str, Any], resources: list[dict[str, Any]]
                 ) -> None:
    if set(patch) - {"path", "target"}:
        raise UnsupportedKustomization(f"patch fields {sorted(patch)}")
    body = yaml.safe_load((directory / patch["path"]).read_text(encoding="utf-8"))
    target = patch.get("target")
    if target is not None and set(target) - {"kind", "name"}:
        raise UnsupportedKustomization(f"patch target fields {sorted(target)}")
    if isinstance(body, list):
        if target is None:
            raise UnsupportedKustomization("a JSON 6902 patch needs a target")
        for resource in _matching(resources, target):
            apply_json_patch(resource, body)
        return
    target = target or {"kind": body["kind"], "name": body["metadata"]["name"]}
    matched = _matching(resources, target)
    if not matched:
        raise UnsupportedKustomization(f"no resource matches the patch {patch['path']}")
    changes = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}
    for resource in matched:
        _merge_maps(resource, changes)


def _matching(resources: list[dict[str, Any]], target: Mapping[str, str]
              ) -> list[dict[str, Any]]:
    return [r for r in resources
            if r["kind"] == target["kind"]
            and ("name" not in target or r["metadata"]["name"] == target["name"])]


def _merge_maps(into: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, list):
            raise UnsupportedKustomization("strategic-merge patches of lists (use JSON 6902)")
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge_maps(into[key], value)
        elif value is None:
            into.pop(key, None)
        else:
            into[key] = copy.deepcopy(value)


def apply_json_patch(document: dict[str, Any], operations: list[Mapping[str, Any]]) -> None:
    """RFC 6902 `add`, `replace` and `remove` (what the overlays use), in place."""
    for operation in operations:
        op, pointer = operation["op"], operation["path"]
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        parent: Any = document
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        value = copy.deepcopy(operation.get("value"))
        if isinstance(parent, list):
            if op == "add":
                if last == "-":
                    parent.append(value)
                else:
                    parent.insert(int(last), value)
            elif op == "replace":
                parent[int(last)] = value
            elif op == "remove":
                del parent[int(last)]
            else:
                raise UnsupportedKustomization(f"JSON patch op {op}")
        elif op in ("add", "replace"):
            if op == "replace" and last not in parent:
                raise KeyError(f"{pointer}: nothing to replace")
            parent[last] = value
        elif op == "remove":
            del parent[last]
        else:
            raise UnsupportedKustomization(f"JSON patch op {op}")


def _set_image(node: Any, image: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    container["image"] = _new_image(container["image"], image)
            else:
                _set_image(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_image(item, image)


def _new_image(current: str, image: Mapping[str, str]) -> str:
    name, _, digest = current.partition("@")
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != image["name"]:
        return current
    name = image.get("newName", name)
    if "digest" in image:
        return f"{name}@{image['digest']}"
    tag = str(image.get("newTag", tag))
    result = f"{name}:{tag}" if tag else name
    return f"{result}@{digest}" if digest and "newTag" not in image else result


def normalise(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources in a stable order, for comparing two renderings."""
    return sorted(resources, key=lambda r: (r["kind"], r["metadata"].get("namespace", ""),
                                            r["metadata"]["name"]))


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(resource: Mapping[str, Any]) -> dict[str, Any]:
    spec = resource["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


# -- Dockerfiles -------------------------------------------------------------------------------


@dataclass
class Stage:
    """One stage of a Dockerfile: its base image, its name and its instructions."""

    base: str
    name: str | None
    commands: list[dockerfile.Command] = field(default_factory=list)

    def all(self, instruction: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == instruction.upper()]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for command in self.all("ENV"):
            pairs = command.value
            values.update(zip(pairs[0::2], pairs[1::2], strict=True))
        return values


def dockerfile_stages(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, parsed with BuildKit's own parser (`dockerfile` package)."""
    stages: list[Stage] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            words = command.value
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].commands.append(command)
        elif command.cmd not in ("ARG",):
            raise AssertionError(f"{path}: {command.cmd} before the first FROM")
    return stages


def copy_flags(command: dockerfile.Command) -> dict[str, str]:
    flags: dict[str, str] = {}
    for flag in command.flags:
        key, _, value = flag.lstrip("-").partition("=")
        flags[key] = value
    return flags


# -- Compose -----------------------------------------------------------------------------------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def compose_variables(text: str) -> set[str]:
    """The variables a Compose file interpolates."""
    return {m.group("name") or m.group("bare") for m in _INTERPOLATION.finditer(text)
            if not m.group("escaped")}


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation (${VAR}, ${VAR:-default}, ${VAR:?error}, $$) applied
    to every string of a loaded Compose file; a missing required variable raises KeyError."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if (value is None if op == "-" else empty) else str(value)
        if op in (":?", "?"):
            if value is None if op == "?" else empty:
                raise KeyError(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if (value is None if op == "+" else empty) else arg
        return value or ""

    return _INTERPOLATION.sub(substitute, node)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a Compose `.env` file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


# -- .dockerignore -----------------------------------------------------------------------------


def dockerignore_patterns(path: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per line of a `.dockerignore`, in order (Docker's rules: paths are
    relative to the context, `**` crosses folders, `!` re-includes, the last match wins)."""
    patterns = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line[1:] if include else line
        pattern = os.path.normpath(pattern.strip("/"))
        patterns.append((not include, re.compile(_glob_to_regex(pattern))))
    return patterns


def _glob_to_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return f"^{out}$"


def dockerignored(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether `relative` (a path in the build context) is left out of it: the path or one of
    its parent folders matches an exclusion not overridden by a later `!` line."""
    parts = relative.split("/")
    excluded = False
    for exclude, regex in patterns:
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = exclude
    return excluded


def context_files(patterns: list[tuple[bool, re.Pattern[str]]], source: Path,
                  relative_to: Path) -> Iterator[Path]:
    """Files under `source` that a Docker build context would hold."""
    candidates = [source] if source.is_file() else sorted(source.rglob("*"))
    for path in candidates:
        if path.is_file() and not dockerignored(path.relative_to(relative_to).as_posix(),
                                                patterns):
            yield path
