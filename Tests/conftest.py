"""iotc-mock's own Python tests (Tests/clients, Tests/release) are run by `make test`. A pytest run rooted in a
folder above this checkout (a CI workspace with iotc-mock checked out beside the code under test) leaves them
alone."""
import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent


def pytest_ignore_collect(collection_path, config):
    root = config.rootpath.resolve()
    if root != REPO and REPO.is_relative_to(root):
        return True
    return None
