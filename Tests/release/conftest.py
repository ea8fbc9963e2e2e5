"""Shared by the checks of the release artifacts: where the repository, the dist archive and the README are."""
import pathlib
import platform
import re
import socket
import subprocess

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
VERSION = re.search(r'static let version = "([^"]+)"', (REPO / "Sources/MockServer/Version.swift").read_text()).group(1)
NAME = f"iotc-mock-{VERSION}-linux-{platform.machine()}"
ARCHIVE = REPO / "dist" / f"{NAME}.tar.gz"
ADMIN = ("SharedAccessSignature sr=83f94f28-4f76-40b6-b518-13b8f67f42c5&sig=9z0FKG%2B9rA6%2BRLvXdls2g77ksORTIXqtIxIvJdQmZXI%3D"
         "&skn=iotc-mock-admin&se=4102444799000")
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"


def readme_block(heading, language):
    """The first ```language block after `heading` in the README."""
    readme = (REPO / "README.md").read_text()
    section = readme.split(heading + "\n", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def readme_yaml(heading):
    return yaml.safe_load(readme_block(heading, "yaml"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commit():
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
