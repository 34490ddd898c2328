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
    env = dict(
        os.environ,
        FERNET_KEY="k",
        METADATA_PASSWORD="m",
        WAREHOUSE_PASSWORD="w",
        METABASE_HQ_PASSWORD="h",
        MB_ADMIN_EMAIL="admin@example.com",
        MB_ADMIN_PASSWORD="a",
    )
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


def test_metabase_reads_the_warehouse_as_an_hq_reader_of_its_own():
    """Metabase gets its own login, an HQ reader created by the warehouse-access service with
    the password from the environment; it starts after it and after the warehouse."""
    spec = yaml.safe_load(COMPOSE.read_text())
    access = spec["services"]["warehouse-access"]
    command = access["command"]
    assert command[:4] == ["python", "-m", "dealerfunnel.cli", "roles"]
    login = command[command.index("--hq") + 1]
    variable = command[command.index("--password-env") + 1]
    assert access["environment"][variable].startswith("${" + variable + ":?")
    assert access["depends_on"]["warehouse-db"]["condition"] == "service_healthy"
    metabase = spec["services"]["metabase"]
    assert metabase["depends_on"] == {
        "warehouse-db": {"condition": "service_healthy"},
        "warehouse-access": {"condition": "service_completed_successfully"},
    }
    assert login == "metabase_hq" and f"user {login}" in COMPOSE.read_text()


def test_metabase_setup_registers_the_warehouse_after_metabase_and_the_roles():
    """The one-shot metabase-setup service runs our CLI once Metabase is started and the
    metabase_hq login exists; its admin credentials and the HQ password are required
    variables, never literals."""
    spec = yaml.safe_load(COMPOSE.read_text())
    setup = spec["services"]["metabase-setup"]
    assert setup["command"] == ["python", "-m", "dealerfunnel.cli", "metabase-setup"]
    assert setup["depends_on"] == {
        "metabase": {"condition": "service_started"},
        "warehouse-access": {"condition": "service_completed_successfully"},
    }
    assert setup["restart"] == "no"
    env = setup["environment"]
    for variable in ("MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD", "METABASE_HQ_PASSWORD"):
        assert env[variable].startswith("${" + variable + ":?"), variable
    assert env["MB_WAREHOUSE_USER"] == "metabase_hq"
    assert "Admin > Databases" not in COMPOSE.read_text()  # no manual step left
