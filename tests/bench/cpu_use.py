"""Where a measured interval's CPU went, on a machine whose cores the service, its database and
the load generator share (Linux ``/proc``): how busy the cores were, and the CPU seconds of the
server's process tree, of the PostgreSQL server's processes and of this process's reaped
children (wrk). A throughput that is bound by the cores cannot be raised by more processes or
threads, only by less work per request or row; these numbers say which case a run is.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _machine() -> tuple[float, float]:
    """Busy and idle core-seconds since boot (``/proc/stat``; iowait counts as idle)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, idle, iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / _TICK, (idle + iowait) / _TICK


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command name, CPU seconds) of every process now."""
    out: dict[int, tuple[int, str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / _TICK)
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree(processes: dict[int, tuple[int, str, float]], root: int) -> set[int]:
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _name, _cpu) in processes.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


@dataclass
class Span:
    """CPU used between :meth:`start` and :meth:`stop`: ``busy`` / ``idle`` core-seconds of the
    machine and ``parts`` in CPU seconds by name: one per process tree named in :meth:`start`
    (``server=pid``), ``database`` for the processes named ``postgres``, ``children`` for this
    process's children that ended meanwhile (wrk)."""

    roots: dict[str, int] = field(default_factory=dict)
    busy: float = 0.0
    idle: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    _start: tuple[tuple[float, float], dict[int, tuple[int, str, float]], float] | None = None

    @classmethod
    def start(cls, **roots: int) -> Span:
        span = cls(roots=roots)
        span._start = (_machine(), _processes(), _children_cpu())
        return span

    def stop(self) -> Span:
        assert self._start is not None
        (busy0, idle0), before, children0 = self._start
        busy1, idle1 = _machine()
        after = _processes()
        self.busy, self.idle = busy1 - busy0, idle1 - idle0

        def used(pids: set[int]) -> float:
            return sum(after[p][2] - before.get(p, (0, "", 0.0))[2] for p in pids if p in after)

        self.parts = {name: used(_tree(after, root)) for name, root in self.roots.items()}
        self.parts |= {
            "database": used({p for p, (_parent, name, _cpu) in after.items() if name.startswith("postgres")}),
            "children": _children_cpu() - children0,
        }
        return self

    @property
    def busy_share(self) -> float:
        """How much of the cores' time was busy (1.0: every core all the time)."""
        total = self.busy + self.idle
        return self.busy / total if total else 0.0
