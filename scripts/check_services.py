"""Fail fast, in one line, when the test suite's PostgreSQL or Redis is not reachable."""

import socket
import sys
from urllib.parse import urlparse


def reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return False, f"{host}:{port} ({exc.strerror or exc})"
    return True, f"{host}:{port}"


def main() -> int:
    database_url, redis_url = sys.argv[1], sys.argv[2]
    for name, url, port, hint in (
        ("PostgreSQL", database_url, 5432, "pg_ctlcluster --skip-systemctl-redirect 15 main start"),
        ("Redis", redis_url, 6379, "redis-server --daemonize yes --port 6379 --save '' --appendonly no"),
    ):
        ok, where = reachable(url, port)
        if not ok:
            print(f"make test: {name} is not reachable at {where}; start it (e.g. `{hint}`) or set its URL.")  # noqa: T201
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
