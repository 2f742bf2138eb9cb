"""Task generation (Qlib's ``qlib.workflow.task.gen``) on the Rust
generators: the same code as ``taskpool gen``.

Qlib reads the trading calendar from its data directory; taskpool cannot, so
a generator takes ``calendar=`` (a list of dates or ``"YYYY-MM-DD"`` strings,
a :class:`Calendar`, or the path of a Qlib ``day.txt``), or uses the one set
once with :func:`set_calendar`.
"""

import copy
import os
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

from . import _native
from .errors import ConfigError

Calendar = _native.Calendar
CalendarLike = Union["_native.Calendar", str, "os.PathLike[str]", Iterable[Any]]

_default_calendar: Optional["_native.Calendar"] = None

#: ``RollingGen(ds_extra_mod_func=handler_mod)``: extend
#: ``dataset.kwargs.handler.kwargs.end_time`` to each test end (the default).
handler_mod = "handler_mod"


def as_calendar(calendar: Optional[CalendarLike]) -> "_native.Calendar":
    """A :class:`Calendar` from a calendar, a ``day.txt`` path or a list of
    dates; ``None`` is the one set with :func:`set_calendar`."""
    if calendar is None:
        if _default_calendar is None:
            raise ConfigError(
                "no trading calendar: pass calendar=[dates] or the path of a Qlib day.txt, "
                "or call taskpool.set_calendar(...) once"
            )
        return _default_calendar
    if isinstance(calendar, _native.Calendar):
        return calendar
    if isinstance(calendar, (str, os.PathLike)):
        return _native.Calendar.load(calendar)
    return _native.Calendar(list(calendar))


def set_calendar(calendar: CalendarLike) -> "_native.Calendar":
    """Set the calendar used by generators created without ``calendar=``."""
    global _default_calendar
    _default_calendar = as_calendar(calendar)
    return _default_calendar


class TaskGen:
    """Base of task generators (Qlib's ``TaskGen``): ``generate(task)``
    returns a list of tasks made from one. Subclass it for your own."""

    def generate(self, task: dict) -> List[dict]:
        raise NotImplementedError("TaskGen subclasses implement generate(task)")

    def __call__(self, *args: Any, **kwargs: Any) -> List[dict]:
        return self.generate(*args, **kwargs)


def task_generator(tasks: Union[dict, List[dict]], generators: Union[TaskGen, Sequence[TaskGen]]) -> List[dict]:
    """Apply ``generators`` in order (Qlib's ``task_generator``): each replaces
    every task by its outputs, children contiguous and in input order."""
    if isinstance(tasks, dict):
        tasks = [tasks]
    if isinstance(generators, TaskGen):
        generators = [generators]
    tasks = list(tasks)
    for generator in generators:
        tasks = [child for task in tasks for child in generator.generate(task)]
    return tasks


class RollingGen(TaskGen):
    """Rolling test windows over a calendar (Qlib's ``RollingGen``).

    Args:
        step: trading days between test starts (= test length), or a period
            ``"1m"`` / ``"2w"`` (windows on the first trading day of each).
        rtype: ``"expanding"`` (train start fixed) or ``"sliding"``.
        ds_extra_mod_func: ``"handler_mod"`` (default: extend the handler's
            ``end_time`` to the test end), ``None``, or a callable
            ``f(task, rolling_gen)`` applied to each generated task.
        test_key, train_key: segment names (``train_key=None``: every
            segment slides).
        trunc_days: leave this many trading days between other segments and
            the test start.
        calendar: see the module docs.
        test_len: a test window length different from the step (beyond Qlib).
    """

    ROLL_EX = "expanding"
    ROLL_SD = "sliding"

    def __init__(
        self,
        step: Union[int, str] = 40,
        rtype: str = ROLL_EX,
        ds_extra_mod_func: Union[None, str, Callable[[dict, "RollingGen"], Any]] = handler_mod,
        test_key: str = "test",
        train_key: Optional[str] = "train",
        trunc_days: Optional[int] = None,
        task_copy_func: Callable[[dict], dict] = copy.deepcopy,
        calendar: Optional[CalendarLike] = None,
        test_len: Optional[int] = None,
    ) -> None:
        if ds_extra_mod_func is not None and ds_extra_mod_func != handler_mod and not callable(ds_extra_mod_func):
            raise TypeError('ds_extra_mod_func is "handler_mod", None, or a callable f(task, rolling_gen)')
        self.step = step
        self.rtype = rtype
        self.ds_extra_mod_func = ds_extra_mod_func
        self.test_key = test_key
        self.train_key = train_key
        self.trunc_days = trunc_days
        self.task_copy_func = task_copy_func
        self.calendar = as_calendar(calendar)
        self._native = _native.Rolling(
            step=step,
            rtype=rtype,
            test_key=test_key,
            train_key=train_key,
            trunc_days=trunc_days,
            test_len=test_len,
            handler_mod=ds_extra_mod_func == handler_mod,
        )

    def generate(self, task: dict) -> List[dict]:
        """The rolling tasks of ``task``: the first test window starts at the
        template's test start and lasts ``step`` days; the following ones
        roll until the template's test end."""
        return self._modified(self._native.generate(self.task_copy_func(task), self.calendar))

    def gen_following_tasks(self, task: dict, test_end: Any) -> List[dict]:
        """The tasks after ``task`` (an output of :meth:`generate`) whose test
        window starts on or before ``test_end`` (a date or ``"YYYY-MM-DD"``)."""
        return self._modified(self._native.following(self.task_copy_func(task), test_end, self.calendar))

    def _modified(self, tasks: List[dict]) -> List[dict]:
        if callable(self.ds_extra_mod_func):
            for task in tasks:
                self.ds_extra_mod_func(task, self)
        return tasks


class MultiHorizonGenBase(TaskGen):
    """One task per label horizon (Qlib's ``MultiHorizonGenBase``): subclass
    it and implement ``set_horizon(task, hr)`` (edit the task in place).
    Segments other than ``test`` end ``hr + label_leak_n`` trading days
    before the test start."""

    def __init__(self, horizon: Sequence[int] = (5,), label_leak_n: int = 2, calendar: Optional[CalendarLike] = None) -> None:
        self.horizon = list(horizon)
        self.label_leak_n = label_leak_n
        self.calendar = as_calendar(calendar)
        self._native = _native.Horizons(self.horizon, self._set_horizon_target(), label_leak_n=label_leak_n)

    def _set_horizon_target(self) -> Any:
        return self.set_horizon

    def set_horizon(self, task: dict, hr: int) -> None:
        raise NotImplementedError("MultiHorizonGenBase subclasses implement set_horizon(task, hr)")

    def generate(self, task: dict) -> List[dict]:
        """One task per horizon, in horizon order."""
        return self._native.generate(task, self.calendar)


class MultiHorizonGen(MultiHorizonGenBase):
    """:class:`MultiHorizonGenBase` writing the horizon at a JSON path, e.g.
    ``"dataset.kwargs.handler.kwargs.label_horizon"`` (no subclass needed)."""

    def __init__(self, horizon_path: str, horizon: Sequence[int] = (5,), label_leak_n: int = 2, calendar: Optional[CalendarLike] = None) -> None:
        self.horizon_path = horizon_path
        super().__init__(horizon, label_leak_n, calendar)

    def _set_horizon_target(self) -> Any:
        return self.horizon_path
