"""Every test here that reaches an in-process server runs on both HTTP paths (``http_path``)."""

import pytest

from tests.conftest import both_paths


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both_paths(metafunc)
