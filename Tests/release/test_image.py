"""The image `make image` built: its configuration, and its entrypoint run on its own file system with the
environment of the README's service-container recipe (image_run.py). Also the compose and Testcontainers recipes,
which need a container engine to run: their names are checked against the image and the pinned library."""
import inspect
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ADMIN, VERSION, readme_block, readme_yaml

IMAGE = os.environ.get("IOTC_MOCK_IMAGE", f"localhost/iotc-mock:{VERSION}")
pytestmark = pytest.mark.skipif(shutil.which("buildah") is None, reason="make test-image installs buildah")


@pytest.fixture(scope="module")
def config():
    found = subprocess.run(["buildah", "inspect", "--type", "image", IMAGE], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.fail(f"no image {IMAGE}: run make image (make test-image does)")
    return json.loads(found.stdout)["Docker"]["config"]


def test_the_image_runs_as_a_user_of_its_own_with_a_volume_a_port_and_a_health_check(config):
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["iotc-mock"] and config["Cmd"] == ["serve"]
    assert config["Healthcheck"]["Test"] == ["CMD", "iotc-mock", "health"]
    assert list(config["ExposedPorts"]) == ["8765/tcp"] and list(config["Volumes"]) == ["/data"]
    assert {"IOTC_MOCK_HOST=0.0.0.0", "IOTC_MOCK_DATA_DIR=/data", "IOTC_MOCK_PORT=8765"} <= set(config["Env"])
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION


def test_the_entrypoint_serves_as_the_service_container_recipe_says(config):
    recipe = readme_yaml("### In GitHub Actions: the image as a service container")["jobs"]["test"]
    service = recipe["services"]["iotc-mock"]
    assert service["ports"] == ["8765:8765"] and "iotc-mock health" in service["options"]
    key = recipe["env"]["IOTC_MOCK_CONTROL_KEY"]
    run = subprocess.run(["unshare", "--net", "--mount", sys.executable, os.path.join(os.path.dirname(__file__), "image_run.py"),
                          IMAGE, json.dumps(service["env"]), key, ADMIN], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["ready"].startswith("iotc-mock ready url=http://127.0.0.1:8765 ") and seen["ready"].endswith(" token=" + ADMIN)
    assert seen["health"] == 200 and seen["roles"] == 200
    assert seen["operator_users"] == [403, "Forbidden"]
    # Outside the container a caller is not a loopback caller: the control plane needs the key.
    assert seen["control_without_key"] == 401 and seen["control_with_key"] == 200
    assert seen["healthcheck"] == 0
    # The database is private (600) whatever the volume's mode; the certificate to trust stays readable (644).
    assert seen["data"][:4] == ["10001", "10001 700", "10001 600", "10001 644"], seen["data"]
    assert seen["exit"] == 0, seen["log"]


def test_the_compose_recipe_names_the_images_port_volume_and_variables(config):
    compose = readme_yaml("### With docker compose")
    mock = compose["services"]["iotc-mock"]
    assert mock["image"] == f"iotc-mock:{VERSION}"
    assert mock["ports"] == ["8765:8765"] and mock["volumes"] == ["iotc-mock-data:/data"]
    assert all(name.startswith("IOTC_MOCK_") for name in mock["environment"])
    assert compose["services"]["my-service"]["depends_on"]["iotc-mock"]["condition"] == "service_healthy"
    assert "IOTC_MOCK_TLS_NAMES=iotc-mock" in config["Env"]  # https://iotc-mock:8765 verifies


def test_the_testcontainers_snippet_uses_names_the_pinned_library_has():
    from testcontainers.core.container import DockerContainer
    from testcontainers.core import waiting_utils
    snippet = readme_block("### With Testcontainers (Python)", "python")
    assert f'DockerContainer("iotc-mock:{VERSION}")' in snippet
    for method in ["with_exposed_ports", "with_env", "get_container_host_ip", "get_exposed_port", "get_logs"]:
        assert f".{method}(" in snippet and callable(getattr(DockerContainer, method)), method
    assert "timeout" in inspect.signature(waiting_utils.wait_for_logs).parameters
