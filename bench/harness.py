"""The benchmark harness: a registry, a PostgreSQL database, a real ASGI server, a load
driver and a result printer. Benchmarks are not tests: they never assert a time. They fail
(exit non-zero) only when something is broken, e.g. a request answered with a non-2xx.

A benchmark is a function registered under a name. It gets a `Bench` (Django is set up and
migrated on PostgreSQL), creates its own data, starts the server, drives a baseline and the
measured path, and returns the `Comparison`:

    @register("shelf_scan", goal=0.5, about="scan-to-buy against /api/v1/ping/")
    def shelf_scan(bench: Bench) -> Comparison:
        ...  # create data with the ORM / services
        with bench.server() as server:
            return bench.compare(server, baseline=ping_requests, measured=scan_requests)
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tiandi_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"

# Load shape; the environment may change it (e.g. BENCH_REQUESTS=300 for a quick look).
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))  # per path and round
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))  # time cap per path and round
WARMUP = int(os.environ.get("BENCH_WARMUP", "100"))  # per path, not measured
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))  # baseline and measured alternate


# --- the registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    name: str
    goal: float
    about: str
    run: Callable[[Bench], Comparison]


REGISTRY: dict[str, Registered] = {}


def register(name: str, *, goal: float, about: str) -> Callable:
    """Register a benchmark under `name`; the ratio it reports must be ≥ `goal`."""

    def wrap(fn: Callable[[Bench], Comparison]) -> Callable[[Bench], Comparison]:
        REGISTRY[name] = Registered(name=name, goal=goal, about=about, run=fn)
        return fn

    return wrap


# --- requests and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # already encoded, so the driver spends no time on it


RequestFactory = Callable[[int], Request]  # request number → the request to send


@dataclass
class LoadResult:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful and not
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # first few non-2xx answers

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def merge(self, other: LoadResult) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.statuses.update(other.statuses)
        self.failures += other.failures[: max(0, 5 - len(self.failures))]

    def summary(self) -> str:
        return (
            f"{self.throughput:.1f} req/s, p50 {self.percentile(50) * 1000:.1f} ms, "
            f"p99 {self.percentile(99) * 1000:.1f} ms"
        )


@dataclass
class Comparison:
    """What a benchmark returns: the baseline and the measured path, plus notes to print."""

    baseline: LoadResult
    measured: LoadResult
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        # Higher is better: our throughput over the baseline's.
        return self.measured.throughput / self.baseline.throughput if self.baseline.throughput else 0.0


# --- the database -------------------------------------------------------------------------------


def prepare_database() -> str:
    """Point Django at PostgreSQL (DATABASE_URL or the tiandi_bench default), creating the
    database if it is missing, then set Django up and migrate."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise SystemExit(f"bench: benchmarks run on PostgreSQL; DATABASE_URL is {url!r}")
    os.environ["DATABASE_URL"] = url
    _create_database_if_missing(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retail.settings")
    # The bench process writes its fixtures without a pool; the server gets one.
    os.environ.pop("DATABASE_POOL", None)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    call_command("migrate", verbosity=0, interactive=False)
    return url


def _create_database_if_missing(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"bench: created database {name}")


def redis_url() -> str | None:
    """REDIS_URL, or Redis db 2 on localhost if it answers; None runs the server without."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return url
    except OSError:
        pass
    return None


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def run_server(*, env: dict[str, str] | None = None, ready_timeout: float = 60.0) -> Iterator[Server]:
    """One uvicorn process with production-like settings (DEBUG off, the psycopg pool, Redis
    when it answers), started on a free port and stopped afterwards."""
    port = _free_port()
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "retail.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_POOL": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    redis = redis_url()
    if redis:
        server_env["REDIS_URL"] = redis
        server_env.setdefault("CACHE_KEY_PREFIX", "tiandi-bench")
        server_env.setdefault("CHANNEL_PREFIX", "tiandi-bench")
    else:
        server_env.pop("REDIS_URL", None)
    server_env.update(env or {})
    log_path = ROOT / "var" / f"bench-server-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "uvicorn", "retail.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        _stop(process)
    log_path.unlink(missing_ok=True)


def _wait_ready(server: Server, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            response = httpx.get(f"{server.base_url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    _stop(server.process)
    tail = server.log_path.read_text(errors="replace")[-3000:] if server.log_path.exists() else ""
    raise RuntimeError(f"the server did not become healthy ({last})\n{tail}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load driver ----------------------------------------------------------------------------


def drive(
    server: Server,
    requests: RequestFactory,
    *,
    label: str,
    count: int = REQUESTS,
    seconds: float = SECONDS,
    concurrency: int = CONCURRENCY,
    first: int = 0,
) -> LoadResult:
    """Send requests `first`..`first + count - 1` with `concurrency` in flight, stopping early
    at the time cap; every answer's status and latency is recorded."""
    return asyncio.run(_drive(server, requests, label, count, seconds, concurrency, first))


async def _drive(server, requests, label, count, seconds, concurrency, first) -> LoadResult:
    import httpx

    result = LoadResult(label=label)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counter = iter(range(first, first + count))
    started = time.perf_counter()
    deadline = started + seconds

    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for n in counter:
                if time.perf_counter() >= deadline:
                    return
                req = requests(n)
                t0 = time.perf_counter()
                try:
                    response = await client.request(
                        req.method, req.path, headers=req.headers, content=req.body
                    )
                    status, text = response.status_code, response.text
                except httpx.HTTPError as exc:
                    status, text = 599, repr(exc)
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] += 1
                if not 200 <= status < 300 and len(result.failures) < 5:
                    result.failures.append(f"{req.method} {req.path} → {status}: {text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


# --- running and printing -----------------------------------------------------------------------


class Bench:
    """What a benchmark gets: the server fixture and the driver, with the shared load shape."""

    def __init__(self, name: str):
        self.name = name

    @contextmanager
    def server(self, **kwargs) -> Iterator[Server]:
        with run_server(**kwargs) as server:
            yield server

    def compare(
        self,
        server: Server,
        *,
        baseline: RequestFactory,
        measured: RequestFactory,
        baseline_label: str,
        measured_label: str,
    ) -> Comparison:
        """Warm both paths up, then alternate them for ROUNDS rounds (so neither gets the
        warmer caches or the emptier tables) and add the rounds up."""
        drive(server, baseline, label="warm-up", count=WARMUP, first=10**8)
        drive(server, measured, label="warm-up", count=WARMUP, first=10**8)
        total_base, total_ours = LoadResult(baseline_label), LoadResult(measured_label)
        for round_no in range(ROUNDS):
            first = round_no * REQUESTS
            base = drive(server, baseline, label=baseline_label, first=first)
            ours = drive(server, measured, label=measured_label, first=first)
            print(f"  round {round_no + 1}: baseline {base.summary()} | measured {ours.summary()}")
            total_base.merge(base)
            total_ours.merge(ours)
        return Comparison(baseline=total_base, measured=total_ours)


def print_result(registered: Registered, comparison: Comparison) -> bool:
    """Print the figures and the one summary line; True when nothing was broken."""
    b, m = comparison.baseline, comparison.measured
    print(f"  baseline  {b.label}: {b.count} requests in {b.seconds:.1f}s — {b.summary()}")
    print(f"  measured  {m.label}: {m.count} requests in {m.seconds:.1f}s — {m.summary()}")
    for note in comparison.notes:
        print(f"  note: {note}")
    errors = b.errors + m.errors
    for result in (b, m):
        if result.errors:
            print(f"  NON-2XX on {result.label}: {dict(result.statuses)}")
            for failure in result.failures:
                print(f"    {failure}")
    met = "met" if comparison.ratio >= registered.goal else "NOT met"
    print(
        f"bench {registered.name}: ratio {comparison.ratio:.2f} (goal {registered.goal:g}, {met}) "
        f"{m.throughput:.1f} vs {b.throughput:.1f} req/s, "
        f"p50 {m.percentile(50) * 1000:.1f} vs {b.percentile(50) * 1000:.1f} ms, "
        f"p99 {m.percentile(99) * 1000:.1f} vs {b.percentile(99) * 1000:.1f} ms, "
        f"concurrency {CONCURRENCY}, errors {errors}"
    )
    return errors == 0


def load_benchmarks() -> None:
    """Import every module of bench/ (each registers its benchmarks)."""
    import importlib
    import pkgutil
    from pathlib import Path

    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name not in {"harness", "__main__"}:
            importlib.import_module(f"{__package__}.{info.name}")


def timed(label: str, fn: Callable[[], object], *, repeat: int = 1) -> LoadResult:
    """Time an in-process job (no server): each run counts as one "request", so the ratio of
    two timed results is the baseline's time over ours (≥ 1 would be faster than it)."""
    result = LoadResult(label)
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        result.latencies.append(elapsed)
        result.seconds += elapsed
        result.statuses[200] += 1
    return result


def run(names: list[str]) -> int:
    """Run the named benchmarks (all when empty) one after another; the exit status."""
    load_benchmarks()

    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"bench: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
        return 2
    url = prepare_database()
    print(f"bench: PostgreSQL at {urlsplit(url)._replace(netloc=urlsplit(url).hostname or '').geturl()}, "
          f"Redis {'at ' + redis_url() if redis_url() else 'absent (in-process cache)'}; "
          f"concurrency {CONCURRENCY}, {REQUESTS} requests × {ROUNDS} rounds per path (cap {SECONDS:g}s)")  # fmt: skip
    ok = True
    for name in names or sorted(REGISTRY):
        registered = REGISTRY[name]
        print(f"bench {name}: {registered.about}")
        try:
            comparison = registered.run(Bench(name))
        except Exception as exc:  # a broken benchmark reports and fails; the others still run
            import traceback

            traceback.print_exc()
            print(f"bench {name}: ratio 0.00 (goal {registered.goal:g}, NOT met) broken: {exc!r}")
            ok = False
            continue
        ok = print_result(registered, comparison) and ok
    return 0 if ok else 1


# --- pages behind a login (benchmarks of HTML pages) ----------------------------------------


def collect_static() -> None:
    """Production settings serve static files through the manifest; the pages need it."""
    import secrets
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def _cookies(response) -> dict[str, str]:
    # The production cookies are Secure, so a client on plain http would not send them back;
    # the bench carries them by hand.
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(base_url: str, username: str, password: str) -> str:
    """The Cookie header of a logged-in session, through the login form."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=30, follow_redirects=False) as client:
        form = client.get("/accounts/login/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if found is None:
            raise RuntimeError(f"bench login page: {form.status_code} {form.text[:300]}")
        jar = _cookies(form)
        answer = client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": found.group(1)},
            headers={
                "Referer": f"{base_url}/accounts/login/",
                "Cookie": f"csrftoken={jar.get('csrftoken', '')}",
            },
        )
        jar.update(_cookies(answer))
        if answer.status_code != 302 or "sessionid" not in jar:
            raise RuntimeError(f"bench login failed: {answer.status_code} {answer.text[:300]}")
        return "; ".join(f"{k}={v}" for k, v in jar.items())
