"""Schemathesis generates requests from the official spec for every apiTokens, users, roles and organizations operation, with
the admin token, and checks that the mock never fails (no 5xx), answers only documented statuses, and that every
response matches the spec's schemas (errors included)."""
import pathlib
import subprocess
import sys

import pytest

from conftest import SPEC

HERE = pathlib.Path(__file__).resolve().parent
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,use_after_free,ensure_resource_availability"


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec is absent")
def test_spec_driven_fuzzing_finds_no_failure(mock):
    command = [
        str(pathlib.Path(sys.executable).parent / "schemathesis"), "--config-file", str(HERE / "schemathesis.toml"),
        "run", str(SPEC), "--url", mock.api, "-H", f"Authorization: {mock.token}",
        "--include-path-regex", "^/(apiTokens|users|roles|organizations)",
        # Deleting the admin token would turn the rest of the run into 401s.
        "--exclude-operation-id", "ApiTokens_Remove",
        "--checks", CHECKS, "--max-examples", "60", "--seed", "1", "--no-color",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 15" in result.stdout, result.stdout[-3000:]
