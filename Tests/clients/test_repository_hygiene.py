"""What the repository says must be checkable by its readers: no comment, doc or test cites notes that are not in
the repository (an internal reference sheet, a design sketch, or an issue number of a tracker readers cannot see).
Public sources are cited instead (Microsoft Learn pages, the spec's operationIds, public GitHub issues as
owner/repo#N or their URLs), or the project's own docs/fidelity.md."""
import re
import subprocess

from conftest import REPO

FORBIDDEN = re.compile(r"REFERENCE\.md|REFERENCE §|REFERENCE section|DESIGN\.md|\b[Ii]ssue #\d+|\(issue \d+\)")


def test_no_file_cites_what_readers_cannot_open():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in files:
        if name == "Tests/clients/test_repository_hygiene.py" or not name.endswith((".swift", ".py", ".md", ".sh", ".toml", ".json", ".lua")) and name != "Makefile":
            continue
        try:
            text = (REPO / name).read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == [], "\n".join(offenders)
