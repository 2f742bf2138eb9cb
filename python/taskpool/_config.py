"""Defaults shared by TaskManager and run_task: the store URL, the lease,
and one open store per URL and process."""

import os
import threading
from typing import Dict, Optional, Tuple, Union

from . import _native

#: Environment variable naming the store (as the CLI's ``--store``).
STORE_ENV = "TASKPOOL_STORE"
#: Environment variable giving the lease (seconds or ``"30s"``, ``"2m"``).
LEASE_ENV = "TASKPOOL_LEASE"

_stores: Dict[Tuple[int, str], "_native.Store"] = {}
_stores_lock = threading.Lock()


def store_url(store: Optional[str]) -> str:
    """``store``, else ``$TASKPOOL_STORE``, else ``sqlite://taskpool.db``."""
    if store is not None:
        if not isinstance(store, str):
            raise TypeError(f"store must be a URL string, got {type(store).__name__}")
        return store
    return os.environ.get(STORE_ENV) or _native.DEFAULT_STORE_URL


def lease_seconds(lease: Union[None, float, int, str]) -> float:
    """``lease``, else ``$TASKPOOL_LEASE``, else the CLI default (60 s)."""
    if lease is None:
        lease = os.environ.get(LEASE_ENV) or _native.DEFAULT_LEASE
    return _native.seconds(lease, "lease")


def shared_store(url: str) -> "_native.Store":
    """The store at ``url``, opened once per process.

    Sharing matters: ``memory://`` is one pool set per process only if it is
    opened once, sled allows one open per process, and SQLite and MongoDB
    keep one connection (pool) instead of one per TaskManager. A forked child
    opens its own.
    """
    key = (os.getpid(), url)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _native.open(url)
            _stores[key] = store
        return store
