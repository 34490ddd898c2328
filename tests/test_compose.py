"""docker-compose.yml is valid Compose, checked without a Docker engine (docker-compose v1)."""

import os
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import require

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_config_is_valid():
    require(shutil.which("docker-compose") is not None, "docker-compose (Debian package)")
    env = dict(os.environ, FERNET_KEY="k", METADATA_PASSWORD="m", WAREHOUSE_PASSWORD="w")
    subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], env=env, check=True)


def test_compose_has_the_scale_out_services_and_no_literal_secrets():
    spec = yaml.safe_load(COMPOSE.read_text())
    services = set(spec["services"])
    assert {
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "redis",
        "metadata-db",
        "warehouse-db",
        "metabase",
    } <= services
    text = COMPOSE.read_text()
    for line in text.splitlines():
        if "PASSWORD" in line and ":" in line and not line.strip().startswith("#"):
            value = line.split(":", 1)[1]
            assert "${" in value or "PASSWORD" not in line.split(":", 1)[0], line


def test_the_image_and_the_stack_are_deployments():
    """No embedded warehouse on a worker: DEALERFUNNEL_DEPLOYMENT in the image and the stack."""
    root = Path(__file__).resolve().parents[1]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    env = compose["x-airflow-common"]["environment"]
    assert str(env["DEALERFUNNEL_DEPLOYMENT"]).lower() == "true"
    assert "DEALERFUNNEL_DEPLOYMENT=true" in (root / "Dockerfile").read_text()
