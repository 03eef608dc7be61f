"""REST API throughput under gunicorn on PostgreSQL, measured with wrk (a compiled load generator).

    .venv/bin/python benchmarks/api_throughput.py [--patients 100000] [--repeats 3] [--seconds 10]
        [--database-url postgres://postgres@127.0.0.1:5432/registry_api_bench] [--port 8201]
        [--config config/gunicorn.py] [--profile DIR]

1. Migrates the benchmark database (created if missing) and fills it with ``manage.py
   generate_cohort`` casebooks over 10 centres unless it already holds enough (benchmarks/api.py's
   helpers: the same cohort, a smaller one is topped up), then ``ANALYZE``.
2. Creates a personal API token for a coordinator of the first centre (10,000 patients at
   100,000) and starts gunicorn with the production settings (DEBUG off, behind one trusted
   TLS proxy whose headers wrk sends, the Redis cache for the throttle, whose rate is raised
   so that its counting is measured but never refuses) and ``config/gunicorn.py``.
3. Runs ``wrk`` (``/usr/bin/wrk``; Debian package ``wrk``) at 1 and 20 connections against
   the patient list (a page of 50, the default) and the whole casebook of random patients of
   that centre, ``--repeats`` times ``--seconds`` each after a warm-up, and prints requests/s,
   p50 and p95 per case (medians of the repeats). Any non-2xx answer stops the benchmark.

``--profile DIR`` also records each gunicorn worker with py-spy (``pip install py-spy``; a
profiling tool, not a dependency) during one extra 20-connection run per endpoint, and writes
flame graphs (SVG) and a top-functions table (raw speedscope JSON) to DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import api as api_benchmark  # noqa: E402  (benchmarks/api.py: database, cohort, tokens)

# wrk's Lua hooks: cycle through a file of request paths (one thread starts at its own offset)
# and print the figures as one JSON line, since wrk's own report has no p95.
WRK_SCRIPT = r"""
local paths = {}
local position = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  position = math.random(#paths)
end
request = function()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


# What the TLS proxy in front of production adds (TRUSTED_PROXY_COUNT=1): without it the
# registry answers every plain-HTTP request with a redirect to HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42, help="generate_cohort's seed")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/registry_api_bench"
    )
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/8"),
        help="Redis for the throttle counters, as in production",
    )
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument(
        "--config", default="config/gunicorn.py", help="gunicorn configuration file ('': none)"
    )
    parser.add_argument("--workers", type=int, help="override the configuration's workers")
    parser.add_argument("--concurrency", default="1,20")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--profile", type=Path, help="record the workers with py-spy into DIR")
    return parser.parse_args()


def server_environment(args) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CACHE_URL": args.cache_url,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        # Production sits behind a TLS proxy (docs/compliance.md); wrk sends its headers.
        "TRUSTED_PROXY_COUNT": "1",
        # The throttle still counts every request in Redis (its cost is measured), but one
        # user's 160 requests/s must not be refused by the production rate of 1200/minute.
        "API_THROTTLE_USER": "100000000/minute",
    }


def start_server(args, env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "config.wsgi",
        *(["--config", args.config] if args.config else []),
        "--bind",
        f"127.0.0.1:{args.port}",
        "--log-level",
        "warning",
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    # Any HTTP answer means a worker is up (401 here: no credentials).
    url = f"http://127.0.0.1:{args.port}/api/v1/me/"
    for _ in range(300):
        try:
            probe = urllib.request.Request(url, headers=PROXY_HEADERS)  # noqa: S310
            urllib.request.urlopen(probe, timeout=10)  # noqa: S310 - a local http URL
            return server
        except urllib.error.HTTPError:
            return server
        except OSError:
            time.sleep(0.2)
        except BaseException:
            server.terminate()
            raise
    server.terminate()
    raise SystemExit("gunicorn did not start")


def worker_pids(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backends(database: str) -> list[int]:
    """PostgreSQL's server processes for ``database`` (their title names it), when local."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (FileNotFoundError, PermissionError, UnicodeDecodeError):
                continue
            # "postgres: [15/main: ]<user> <database> <client> <state>"
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds spent by the gunicorn workers, the database's server processes and wrk
    (our child) between ``start`` and ``stop``: where the machine's two cores went."""

    def __init__(self, server: subprocess.Popen, database: str):
        self.server, self.database = server, database

    def _sample(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "gunicorn": sum(_cpu_seconds(p) for p in [self.server.pid, *worker_pids(self.server)]),
            "postgres": sum(_cpu_seconds(p) for p in database_backends(self.database)),
            "wrk": children.ru_utime + children.ru_stime,
        }

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        return {name: after[name] - self.before[name] for name in after}


def run_wrk(base: str, paths_file: Path, script: Path, token: str, connections: int, seconds: int):
    command = [
        "wrk",
        f"--threads={min(2, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--header",
        f"Authorization: Bearer {token}",
        *(option for name, value in PROXY_HEADERS.items() for option in ("-H", f"{name}: {value}")),
        "--script",
        str(script),
        base,
        "--",
        str(paths_file),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    figures = json.loads(line.removeprefix("WRK_JSON "))
    if figures["non_2xx"] or figures["socket_errors"]:
        raise SystemExit(f"wrk saw failures: {figures}\n{output}")
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "requests": figures["requests"],
    }


def check_answer(base: str, path: str, token: str) -> None:
    """One request by hand: the path answers 200 with JSON, so wrk measures real answers."""
    request = urllib.request.Request(  # noqa: S310 - a local http URL
        base + path,
        headers={"Authorization": f"Bearer {token}", **PROXY_HEADERS},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body = json.loads(response.read())
    if "results" in body and len(body["results"]) != 50:
        raise SystemExit(f"{path}: expected a page of 50 rows, got {len(body['results'])}")


def profile(server, run, out_dir: Path, name: str) -> None:
    """py-spy on every worker during ``run()``: a flame graph and raw samples per worker."""
    py_spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    recorders = []
    for pid in worker_pids(server):
        for fmt, suffix in (("flamegraph", "svg"), ("speedscope", "json")):
            target = out_dir / f"{name}-{pid}.{suffix}"
            recorders.append(
                subprocess.Popen(
                    [py_spy, "record", "--pid", str(pid), "--rate", "250", "--format", fmt]
                    + ["--output", str(target), "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    time.sleep(1)
    run()
    for recorder in recorders:
        recorder.send_signal(signal.SIGINT)
    for recorder in recorders:
        recorder.wait(timeout=60)
    print(f"profile of {name}: {out_dir}/{name}-*.svg", flush=True)
    print(profile_summary(sorted(out_dir.glob(f"{name}-*.json"))), flush=True)


def profile_summary(files: list[Path], top: int = 25) -> str:
    """The functions holding the most samples (inclusive: with what they call), over workers.

    Reads py-spy's speedscope files; a function that recurses counts once per sample."""
    inclusive: dict[str, float] = {}
    own: dict[str, float] = {}
    total = 0.0
    for file in files:
        document = json.loads(file.read_text())
        frames = document["shared"]["frames"]
        names = [f"{f['name']} ({Path(f.get('file', '')).name}:{f.get('line', 0)})" for f in frames]
        for profile in document["profiles"]:
            for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
                total += weight
                for name in {names[i] for i in stack}:
                    inclusive[name] = inclusive.get(name, 0.0) + weight
                if stack:
                    leaf = names[stack[-1]]
                    own[leaf] = own.get(leaf, 0.0) + weight
    if not total:
        return "no samples"
    lines = ["inclusive %  function"]
    for name, weight in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * weight / total:9.1f}  {name}")
    lines.append("self %  function")
    for name, weight in sorted(own.items(), key=lambda kv: -kv[1])[: top // 2]:
        lines.append(f"{100 * weight / total:6.1f}  {name}")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    api_benchmark.ensure_database(args.database_url)
    os.environ["CACHE_URL"] = args.cache_url
    api_benchmark.setup_django(args.database_url)
    api_benchmark.generate(args.patients, api_benchmark.CENTRES, args.seed)
    from django.db import connection

    from registry.models import Patient

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # after a bulk load: the plans a running registry gets
    total = Patient.objects.count()
    token = api_benchmark.tokens()["coordinator"]
    ids = api_benchmark.study_ids(2000)
    connection.close()

    work = Path(tempfile.mkdtemp(prefix="api-throughput-"))
    script = work / "paths.lua"
    script.write_text(WRK_SCRIPT)
    endpoints = {
        "patient list (page of 50)": ["/api/v1/patients/"],
        "casebook read": [f"/api/v1/patients/{study_id}/" for study_id in ids],
    }
    path_files = {}
    for name, paths in endpoints.items():
        path_files[name] = work / f"{len(path_files)}.txt"
        path_files[name].write_text("\n".join(paths) + "\n")

    base = f"http://127.0.0.1:{args.port}"
    server = start_server(args, server_environment(args))
    levels = [int(c) for c in args.concurrency.split(",")]
    results = []
    meter = CpuMeter(server, args.database_url.rsplit("/", 1)[1])
    try:
        for paths in endpoints.values():
            check_answer(base, paths[0], token)
        for connections in levels:
            for name in endpoints:
                # Warm-up: every worker's connections, imports and caches.
                run_wrk(base, path_files[name], script, token, connections, 3)
                runs = []
                for _ in range(args.repeats):
                    meter.start()
                    runs.append(
                        run_wrk(base, path_files[name], script, token, connections, args.seconds)
                    )
                    cpu = meter.stop()
                    runs[-1]["cpu_ms"] = {
                        k: 1000 * v / runs[-1]["requests"] for k, v in cpu.items()
                    }
                row = {
                    "endpoint": name,
                    "clients": connections,
                    "rps": statistics.median(r["rps"] for r in runs),
                    "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                    "p95_ms": statistics.median(r["p95_ms"] for r in runs),
                    "all_rps": [round(r["rps"]) for r in runs],
                    "cpu_ms": {
                        k: statistics.median(r["cpu_ms"][k] for r in runs)
                        for k in runs[0]["cpu_ms"]
                    },
                }
                results.append(row)
                print(
                    f"{name:<26} clients={connections:>2}  {row['rps']:7.1f} req/s  "
                    f"p50={row['p50_ms']:6.1f} ms  p95={row['p95_ms']:6.1f} ms  "
                    f"(runs: {row['all_rps']} req/s); CPU ms per request: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms"].items()),
                    flush=True,
                )
        if args.profile:
            for index, name in enumerate(endpoints):
                profile(
                    server,
                    lambda n=name: run_wrk(base, path_files[n], script, token, 20, args.seconds),
                    args.profile,
                    ["list", "casebook"][index],
                )
        workers = len(worker_pids(server))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    print(
        f"\n{total} patients on PostgreSQL; gunicorn {workers} workers ({args.config}); "
        f"{os.cpu_count()} cores shared by gunicorn, PostgreSQL, Redis and wrk; "
        f"median of {args.repeats} runs of {args.seconds} s; "
        f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        "| endpoint | clients | req/s | p50 ms | p95 ms | CPU ms/request: gunicorn, postgres, wrk |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for r in results:
        cpu = r["cpu_ms"]
        print(
            f"| {r['endpoint']} | {r['clients']} | {r['rps']:.0f} | {r['p50_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | gunicorn {cpu['gunicorn']:.2f}, "
            f"PostgreSQL {cpu['postgres']:.2f}, wrk {cpu['wrk']:.2f} |"
        )


if __name__ == "__main__":
    main()
