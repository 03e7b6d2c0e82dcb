"""Several valetkey instances on one PostgreSQL database behind HAProxy (Debian's package).

The row measures what an operator runs for more than one machine's worth of load: every instance a
separate ``valetkey serve`` sharing nothing but the database, HAProxy spreading requests over them
round-robin. The row's CPU/op is the instances' (valetkey's process trees); HAProxy's and
PostgreSQL's CPU are reported apart (``Server.meters``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Server, cpu_seconds, tree

CONFIG = """global
    maxconn 4096
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive

frontend bench
    bind 127.0.0.1:{port}
    default_backend valetkey

backend valetkey
    balance roundrobin
    http-reuse safe
{servers}
"""


@dataclass
class Balanced(Server):
    """HAProxy on ``base``'s port in front of ``members`` (started in turn: each migrates the
    same database under the start-up lock, then serves)."""

    members: list[Server] = field(default_factory=list)
    haproxy: str = "haproxy"
    port: int = 0

    def start(self, logdir: Path, timeout: float = 60.0) -> Server:
        started: list[Server] = []
        try:
            for member in self.members:
                started.append(member.start(logdir, timeout))
            servers = "\n".join(
                f"    server vk{i} {m.base.removeprefix('http://')}"
                for i, m in enumerate(self.members)
            )
            cfg = logdir / "haproxy.cfg"
            cfg.write_text(CONFIG.format(port=self.port, servers=servers))
            subprocess.run([self.haproxy, "-c", "-q", "-f", str(cfg)], check=True)
            self.argv = [self.haproxy, "-db", "-f", str(cfg)]
            self.meters["HAProxy"] = self.balancer_cpu
            return super().start(logdir, timeout)
        except BaseException:
            for member in started:
                member.stop()
            raise

    def balancer_cpu(self) -> float:
        return cpu_seconds(super().pids())

    def pids(self) -> list[int]:
        """The instances' processes (their CPU is the row's); HAProxy's is a meter."""
        return [p for m in self.members if m.proc is not None for p in tree(m.proc.pid)]

    def stop(self) -> None:
        super().stop()
        for member in self.members:
            member.stop()
