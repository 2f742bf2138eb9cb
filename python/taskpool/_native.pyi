"""Type stubs of the Rust extension module ``taskpool._native``."""

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

__version__: str
DEFAULT_STORE_URL: str
DEFAULT_LEASE: float
DEFAULT_MAX_ATTEMPTS: int
URL_SCHEMES: List[str]

Json = Any
Duration = Union[float, int, str]
Query = Optional[Mapping[str, Any]]
TaskId = Union[str, Mapping[str, Any]]
# "waiting", "running", "part_done", "done" or "failed".
Status = str
# "running", "finished" or "failed".
RecordStatus = str

def open(url: str) -> Store:
    """Open the store at ``url``."""

def seconds(value: Duration, what: str = "duration") -> float:
    """Seconds in ``value``: a number of seconds or ``"2s"``, ``"500ms"``, ``"1m30s"``."""

class Heartbeat:
    """The background heartbeat of one held lease."""

    @property
    def lost(self) -> bool: ...
    @property
    def last_error(self) -> Optional[str]: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...

class Store:
    """A task store opened by URL: tasks, records and artifacts."""

    @property
    def url(self) -> str: ...
    def create(
        self,
        pool: str,
        defs: Sequence[Json],
        *,
        filters: Optional[Sequence[Optional[Json]]] = None,
        priority: int = 0,
        max_attempts: int = 3,
        dry_run: bool = False,
    ) -> List[Dict[str, Any]]: ...
    def claim(
        self,
        pool: str,
        n: int = 1,
        lease: Optional[Duration] = None,
        query: Query = None,
        from_status: Status = "waiting",
        owner: Optional[str] = None,
    ) -> List[Dict[str, Any]]: ...
    def heartbeat(self, pool: str, id: TaskId, token: str, lease: Duration) -> str: ...
    def keep_alive(self, pool: str, id: TaskId, token: str, lease: Duration) -> Heartbeat: ...
    def commit(self, pool: str, id: TaskId, token: str, result: Json, status: Status = "done") -> None: ...
    def return_task(
        self, pool: str, id: TaskId, token: str, error: Optional[str] = None, status: Optional[Status] = None
    ) -> Status: ...
    def get(self, pool: str, id: TaskId) -> Dict[str, Any]: ...
    def query(self, pool: str, query: Query = None, limit: Optional[int] = None, skip: int = 0) -> List[Dict[str, Any]]: ...
    def stat(self, pool: str, query: Query = None) -> Dict[str, int]: ...
    def remove(self, pool: str, query: Query = None) -> int: ...
    def reset_status(self, pool: str, query: Query, status: Status) -> int: ...
    def reset_waiting(self, pool: str, query: Query = None) -> int: ...
    def prioritize(self, pool: str, query: Query, priority: int) -> int: ...
    def replace(self, pool: str, id: TaskId, definition: Json, filter: Optional[Json] = None) -> Dict[str, Any]: ...
    def pools(self) -> List[str]: ...
    def drop_pool(self, pool: str) -> bool: ...
    def wait(self, pool: str, query: Query = None, timeout: float = 1.0, poll: float = 1.0) -> Dict[str, Any]: ...
    def create_record(
        self,
        experiment: str,
        task: Optional[Json] = None,
        pool: Optional[str] = None,
        task_id: Optional[TaskId] = None,
        params: Optional[Dict[str, Json]] = None,
        metrics: Optional[Dict[str, float]] = None,
        tags: Optional[Dict[str, str]] = None,
        status: RecordStatus = "running",
    ) -> Dict[str, Any]: ...
    def update_record(
        self,
        record: Mapping[str, Any],
        status: Optional[RecordStatus] = None,
        params: Optional[Dict[str, Json]] = None,
        metrics: Optional[Dict[str, float]] = None,
        tags: Optional[Dict[str, str]] = None,
    ) -> Dict[str, Any]: ...
    def get_record(self, experiment: str, id: str) -> Dict[str, Any]: ...
    def records(
        self,
        experiment: str,
        status: Optional[Sequence[RecordStatus]] = None,
        tags: Optional[Dict[str, str]] = None,
        task_id: Optional[TaskId] = None,
    ) -> List[Dict[str, Any]]: ...
    def delete_record(self, record: Mapping[str, Any]) -> bool: ...
    def experiments(self) -> List[str]: ...
    def put_artifact(
        self, record: Mapping[str, Any], name: str, data: Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]
    ) -> None: ...
    def get_artifact(self, record: Mapping[str, Any], name: str) -> bytes: ...
    def artifacts(self, record: Mapping[str, Any]) -> List[Dict[str, Any]]: ...
    def delete_artifact(self, record: Mapping[str, Any], name: str) -> bool: ...

class Calendar:
    """A trading calendar: sorted distinct dates."""

    def __init__(self, dates: Sequence[Any]) -> None: ...
    @staticmethod
    def load(path: Union[str, "os.PathLike[str]"]) -> Calendar: ...
    def __len__(self) -> int: ...
    def dates(self) -> List[str]: ...

class Rolling:
    """The Rust ``RollingGen`` (wrapped by ``taskpool.RollingGen``)."""

    def __init__(
        self,
        step: Union[int, str, None] = None,
        rtype: str = "expanding",
        test_key: str = "test",
        train_key: Optional[str] = "train",
        trunc_days: Optional[int] = None,
        test_len: Optional[int] = None,
        handler_mod: bool = True,
    ) -> None: ...
    def generate(self, task: Json, calendar: Calendar) -> List[Dict[str, Any]]: ...
    def following(self, task: Json, test_end: Any, calendar: Calendar) -> List[Dict[str, Any]]: ...

class Horizons:
    """The Rust ``MultiHorizonGen`` (wrapped by ``taskpool.MultiHorizonGenBase``)."""

    def __init__(self, horizons: Sequence[int], set_horizon: Any, label_leak_n: int = 2, test_key: str = "test") -> None: ...
    def generate(self, task: Json, calendar: Calendar) -> List[Dict[str, Any]]: ...
