"""Fixtures: a fresh store URL per test on SQLite, and on MongoDB when
``TASKPOOL_TEST_MONGODB_URL`` names a server (CI starts FerretDB; locally:
``eval "$(bash ci/ferretdb/start.sh)"``). With ``CI`` set, a missing or
unreachable MongoDB server fails the MongoDB tests instead of skipping them.
"""

import hashlib
import os
import urllib.parse

import pytest

import taskpool

MONGO_ENV = "TASKPOOL_TEST_MONGODB_URL"


def _mongo_unusable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but the MongoDB tests cannot run: {reason}")
    pytest.skip(f"{reason} (start a server: eval \"$(bash ci/ferretdb/start.sh)\")")


def with_database(url: str, database: str) -> str:
    """``url`` with its path (the database name) replaced."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def mongo_url_for(test_name: str) -> str:
    """A MongoDB URL on a database of this test's own, emptied first."""
    base = os.environ.get(MONGO_ENV)
    if not base:
        _mongo_unusable(f"{MONGO_ENV} is not set")
    digest = hashlib.blake2b(test_name.encode(), digest_size=4).hexdigest()
    url = with_database(base, f"tp_py_{digest}")
    try:
        store = taskpool.open(url)
    except taskpool.Unavailable as error:
        _mongo_unusable(f"the MongoDB server of {MONGO_ENV} is unreachable: {error}")
    for pool in store.pools():
        store.drop_pool(pool)
    for experiment in store.experiments():
        for record in store.records(experiment):
            store.delete_record(record)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite://{tmp_path}/taskpool.db"


@pytest.fixture
def mongo_url(request) -> str:
    return mongo_url_for(request.node.nodeid)


@pytest.fixture(params=["sqlite", "mongodb"])
def store_url(request, tmp_path) -> str:
    """The test runs on SQLite and on MongoDB."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/taskpool.db"
    return mongo_url_for(request.node.nodeid)


@pytest.fixture(params=["memory", "sqlite", "sled", "mongodb"])
def any_store_url(request, tmp_path) -> str:
    """The test runs on every backend."""
    if request.param == "memory":
        # One memory store per test: TaskManagers of a process share it by URL.
        return f"memory://{request.node.name}"
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/taskpool.db"
    if request.param == "sled":
        return f"sled://{tmp_path}/sled"
    return mongo_url_for(request.node.nodeid)
