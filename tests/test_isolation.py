"""The test run never reads or writes the user's own valetkey data (tokens, profiles, database)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.support.servers import isolated_env
from valetkey.client.tokenstore import data_dir
from valetkey.server.bootstrap import default_database


def _inside_tmp(path: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())


def test_xdg_directories_point_into_a_temporary_directory() -> None:
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        assert _inside_tmp(os.environ[name]), name
    assert _inside_tmp(data_dir())


def test_processes_started_by_tests_get_their_own_directories(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    assert all(Path(v).is_relative_to(tmp_path) for v in env.values())


def test_the_default_database_is_not_the_users(tmp_path: Path) -> None:
    from tests.conftest import settings_from

    url = default_database(settings_from())
    assert _inside_tmp(url.removeprefix("sqlite:///")), url
