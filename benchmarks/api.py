"""Benchmark: the API under load, started as users start it, against MLflow's own scoring server.

Generates `--customers` customers, trains champion models on the first `--train-customers` of them in a
temporary MLflow store (real registry), scores the whole base into the score store and writes the features
Parquet of the same data; then starts `retain serve` in a subprocess and measures it from a separate load
process on 127.0.0.1 (a small asyncio HTTP/1.1 keep-alive client, so the client's own cost stays low on a
2-core machine). Targets at 1,000,000 customers (issue 5):

- `GET /v1/customers/{id}` at 32 concurrent connections: p99 < 20 ms and >= 1,000 requests/s
- `POST /v1/customers/lookup` with 1,000 ids: p50 < 100 ms
- `GET /v1/at-risk?limit=50`: p50 < 20 ms
- `POST /v1/score` faster than `mlflow models serve --env-manager local` on the churn champion's
  `/invocations` for 1 row and for 1,000 rows (while returning more: probability, CLV, reasons), compared in
  each JSON shape both accept (an object per row: our `rows`, its `dataframe_records`; names once: our
  `columns`+`data`, its `dataframe_split`), with 1,000 rows at least 1.5x faster (p50); also 32 concurrent
  1-row requests on both (p99 and requests/s). Both servers stay up for this comparison and each pair of
  scenarios runs in `--rounds` alternating slices (latencies pooled per scenario), so both see the same minutes
  of a shared machine.

    .venv/bin/python benchmarks/api.py [--customers 1000000] [--train-customers 30000] [--seed 7]
                                       [--duration 10] [--concurrency 32] [--skip-mlflow] [--workers 1]
                                       [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import pickle
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Run as a file, this folder is sys.path[0], where features.py would shadow the package: the root, as with -m.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.world import add_world_options, scratch_settings, write_world

AS_OF = dt.date(2025, 12, 31)
HOST = "127.0.0.1"
ROWS = 1000  # ids per lookup, rows per big score call
WARMUP_SECONDS = 1.0
BIG_CALL_SPEEDUP = 1.5  # /v1/score with 1,000 rows: at least this many times faster than mlflow (p50)
SEQUENTIAL_MAX = 2000  # request cap of the one-at-a-time scenarios
CONCURRENT_MAX = 500_000  # request cap of the concurrent scenarios


# --- The load process: raw HTTP/1.1 keep-alive over asyncio, no third-party client in the measured path ------


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, int]:
    """Send one request, read the whole answer: (status, body bytes)."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        await reader.readexactly(length)
        return status, length
    if chunked:
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            total += size
            if size == 0:
                return status, total
    body = await reader.read()  # no length: the server closes the connection
    return status, len(body)


async def _run(scenario: dict[str, Any], duration: float, max_requests: int, seed: int) -> dict[str, Any]:
    requests: list[bytes] = scenario["requests"]
    rng = random.Random(seed)
    deadline = time.perf_counter() + duration
    issued = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()

    async def worker() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(scenario["host"], scenario["port"], limit=2**20)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while issued < max_requests and time.perf_counter() < deadline:
                issued += 1
                raw = requests[rng.randrange(len(requests))]
                started = time.perf_counter()
                try:
                    status, _ = await _exchange(reader, writer, raw)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    failures[type(error).__name__] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(scenario["host"], scenario["port"],
                                                                   limit=2**20)
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
        finally:
            writer.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(scenario["concurrency"])))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"name": scenario["name"], "concurrency": scenario["concurrency"], **_figures(latencies, elapsed),
            "statuses": dict(statuses), "failures": dict(failures),
            "client_cpu": cpu / elapsed if elapsed else math.nan}


def _figures(latencies: list[float], seconds: float) -> dict[str, Any]:
    """Requests, requests/s and latency percentiles (ms) of answers that took `latencies` seconds."""
    latencies = sorted(latencies)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, math.ceil(q * len(latencies)) - 1)] * 1000 if latencies else math.nan

    return {"requests": len(latencies), "seconds": seconds, "rps": len(latencies) / seconds if seconds else math.nan,
            "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0), "latencies": latencies}


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario measured in several slices, as if measured at once (latencies pooled)."""
    if len(parts) == 1:
        return parts[0]
    seconds = sum(part["seconds"] for part in parts)
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for part in parts:
        statuses.update(part["statuses"])
        failures.update(part["failures"])
    return {**parts[-1], **_figures([x for part in parts for x in part["latencies"]], seconds),
            "statuses": dict(statuses), "failures": dict(failures), "slices": len(parts),
            "client_cpu": sum(part["client_cpu"] * part["seconds"] for part in parts) / seconds}


def interleave(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], rounds: int) -> list[dict[str, Any]]:
    """Each pair of scenarios (ours, theirs) as `rounds` alternating slices (a warm-up before the first only),
    so both servers are measured over the same minutes: on a shared machine, speed drifts by tens of percent
    from one minute to the next, enough to decide a comparison made one server after the other."""
    slices = []
    for round_ in range(rounds):
        for pair in zip(ours, theirs, strict=True):
            slices += [{**scenario, "duration": scenario["duration"] / rounds,
                        "max_requests": math.ceil(scenario["max_requests"] / rounds),
                        **({"warmup": 0.0} if round_ else {})} for scenario in pair]
    return slices


def load_main(spec_path: str) -> None:
    """The load process: run each scenario of the spec (a short warm-up first), print the results as JSON."""
    with open(spec_path, "rb") as handle:
        spec = pickle.load(handle)
    results = []
    for index, scenario in enumerate(spec["scenarios"]):
        warm = scenario.get("warmup", WARMUP_SECONDS)
        asyncio.run(_run(scenario, warm, max(scenario["concurrency"] * 20, 20), index))
        results.append(asyncio.run(_run(scenario, scenario["duration"], scenario["max_requests"], 1000 + index)))
        results[-1]["loadavg"] = os.getloadavg()[0]
    print(json.dumps(results))


def request_bytes(method: str, path: str, port: int, body: bytes | None = None, key: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    if key is not None:
        lines.append(f"X-API-Key: {key}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def measure(scenarios: list[dict[str, Any]], scratch: Path, timeout: float) -> dict[str, dict[str, Any]]:
    """Run the scenarios in a separate load process; their results by name."""
    spec = scratch / f"load_{time.time_ns()}.pkl"
    with open(spec, "wb") as handle:
        pickle.dump({"scenarios": scenarios}, handle)
    try:
        done = subprocess.run([sys.executable, __file__, "--load-spec", str(spec)], capture_output=True,
                              text=True, timeout=timeout, check=False)
    finally:
        spec.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    parts: dict[str, list[dict[str, Any]]] = {}
    for result in json.loads(done.stdout):
        parts.setdefault(result["name"], []).append(result)
    return {name: merged(slices) for name, slices in parts.items()}


# --- Building the store ------------------------------------------------------------------------------------


def build_store(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Sample data, champions trained on a subset, the whole base scored, the features Parquet written."""
    import pandas as pd

    from batch.job import score_all
    from features.build import FeatureConfig, catalogue
    from features.snapshot import write_snapshot
    from retain.ingest import load
    from training.pipeline import train

    sample, subset = write_world(root, args.customers, args.seed, args.preset, args.train_customers)
    del sample
    settings = scratch_settings(root)
    started = time.perf_counter()
    train(settings, load(root / "train"), root / "train", AS_OF, subset.truth)
    del subset
    print(f"trained champions on {args.train_customers:,} customers in {time.perf_counter() - started:.1f} s",
          flush=True)
    started = time.perf_counter()
    data = load(root / "all")
    path, info = score_all(settings, data, root / "all", AS_OF, dt.datetime.now(dt.UTC))
    print(f"scored {info.customers:,} customers into the store in {time.perf_counter() - started:.1f} s",
          flush=True)
    config = FeatureConfig(windows=settings.feature_windows_days, unit=settings.rfm_time_unit,
                           repeat_contact_days=settings.repeat_contact_days)
    started = time.perf_counter()
    features_path, _, _ = write_snapshot(data, root / "all", AS_OF, config, root / "features.parquet")
    del data
    print(f"wrote the features Parquet in {time.perf_counter() - started:.1f} s", flush=True)
    ids = pd.read_parquet(path, columns=["customer_id"])["customer_id"].astype(str).tolist()
    columns = [feature.name for feature in catalogue(config)]
    frame = pd.read_parquet(features_path, columns=["customer_id", *columns])
    frame = frame.sample(n=min(ROWS, len(frame)), random_state=args.seed).reset_index(drop=True)
    kinds = {column: frame[column].dtype.kind for column in columns}
    return {"settings": settings, "ids": ids, "customers": info.customers, "rows": frame, "columns": columns,
            "kinds": kinds}


def _value(value: Any, kind: str) -> Any:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return int(value) if kind in "iu" else float(value) if kind == "f" else str(value)


def ours_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows as our columns+data body."""
    columns = list(rows[0])
    return {"columns": columns, "data": [[row[c] for c in columns] for row in rows]}


def json_rows(store: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """The sampled feature rows as /v1/score rows and as /invocations data (NaN -> null; integers, such as
    counts, stay integers, as `pandas.to_json` writes them)."""
    frame, columns, kinds = store["rows"], store["columns"], store["kinds"]
    ours, theirs = [], []
    for record in frame.astype(object).to_dict("records"):
        values = [_value(record[c], kinds[c]) for c in columns]
        ours.append({"customer_id": str(record["customer_id"]), **dict(zip(columns, values, strict=True))})
        theirs.append(values)
    return ours, theirs


# --- Servers -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    process._log_handle = handle  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate the process group this benchmark started (mlflow serve runs uvicorn as a child), then kill."""
    if process is None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            try:
                os.killpg(process.pid, 0)  # children left in the group?
            except ProcessLookupError:
                break
        except subprocess.TimeoutExpired:
            continue
    process.wait(5)
    process._log_handle.close()  # type: ignore[attr-defined]


def wait_until(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url}: not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


# --- Reporting -----------------------------------------------------------------------------------------------


def line(result: dict[str, Any]) -> str:
    bad = sum(n for code, n in result["statuses"].items() if int(code) != 200) + sum(result["failures"].values())
    slices = f" in {result['slices']} slices" if "slices" in result else ""
    return (f"{result['name']:<44} c={result['concurrency']:<3} n={result['requests']:>7,}{slices} "
            f"p50 {result['p50']:8.2f} ms  p90 {result['p90']:8.2f} ms  p99 {result['p99']:8.2f} ms  "
            f"max {result['max']:8.2f} ms  {result['rps']:8.1f} req/s  non-200 {bad}  "
            f"(load client CPU {result['client_cpu']:.0%}, load avg {result['loadavg']:.2f})")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser, customers=1_000_000, train_customers=30_000)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per scenario.")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip-mlflow", action="store_true", help="Do not start `mlflow models serve`.")
    parser.add_argument("--workers", type=int, default=1, help="retain serve --workers (default 1).")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Alternating slices per scenario when comparing with mlflow (same total duration).")
    parser.add_argument("--load-spec", help=argparse.SUPPRESS)  # internal: run as the load process
    args = parser.parse_args()
    if args.load_spec:
        load_main(args.load_spec)
        return
    print(f"load average at start {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="retain-bench-api-") as scratch:
        run(Path(scratch), args)


def run(root: Path, args: argparse.Namespace) -> None:
    import httpx

    from serving.auth import add_key

    store = build_store(root, args)
    ours_rows, their_rows = json_rows(store)
    key = add_key(root / "keys.json", "admin")
    settings = store["settings"]
    rng = random.Random(args.seed)
    ids: list[str] = store["ids"]
    duration, concurrency = args.duration, args.concurrency
    bin_dir = Path(sys.executable).parent
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])  # as with the venv activated
    env = {**os.environ, "PATH": path, "RETAIN_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
           "RETAIN_MLFLOW_ARTIFACT_ROOT": str(settings.mlflow_artifact_root), "MLFLOW_DISABLE_TELEMETRY": "true"}
    results: dict[str, dict[str, Any]] = {}
    server = mlflow_server = None
    try:
        # --- ours -------------------------------------------------------------------------------------------
        port = free_port()
        log = root / "retain-serve.log"
        server = start([str(bin_dir / "retain"), "serve", "--data", str(root / "all"), "--keys-file",
                        str(root / "keys.json"), "--port", str(port), "--workers", str(args.workers)], env, log, root)
        seconds = wait_until(f"http://{HOST}:{port}/ready", server, log, 600)
        print(f"retain serve ready in {seconds:.1f} s (port {port})", flush=True)
        base, headers = f"http://{HOST}:{port}", {"X-API-Key": key}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:  # correctness before speed
            one = client.get(f"/v1/customers/{quote(ids[0], safe='')}")
            found = client.post("/v1/customers/lookup", json={"customer_ids": rng.sample(ids, ROWS)})
            page = client.get("/v1/at-risk", params={"limit": 50})
            scored = client.post("/v1/score", json={"rows": ours_rows})
            tabled = client.post("/v1/score", json=ours_table(ours_rows))
            for name, answer in (("customer", one), ("lookup", found), ("at-risk", page), ("score", scored),
                                 ("score columns+data", tabled)):
                if answer.status_code != 200:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:2000]}")
            assert len(found.json()["found"]) == ROWS and len(page.json()["items"]) == 50
            assert len(scored.json()["results"]) == len(ours_rows) and tabled.json() == scored.json()
            ours_example = scored.json()["results"][0]
        print(f"our /v1/score answers per row: {sorted(ours_example)}", flush=True)

        def gets(paths: list[str]) -> list[bytes]:
            return [request_bytes("GET", p, port, key=key) for p in paths]

        def posts(path: str, bodies: list[Any]) -> list[bytes]:
            return [request_bytes("POST", path, port, json.dumps(b).encode(), key) for b in bodies]

        common = {"host": HOST, "port": port}
        scenarios = [
            {**common, "name": "GET /v1/customers/{id}", "concurrency": concurrency, "duration": duration,
             "max_requests": CONCURRENT_MAX,
             "requests": gets([f"/v1/customers/{quote(i, safe='')}" for i in rng.choices(ids, k=20_000)])},
            {**common, "name": "POST /v1/customers/lookup (1,000 ids)", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX,
             "requests": posts("/v1/customers/lookup", [{"customer_ids": rng.sample(ids, ROWS)} for _ in range(20)])},
            {**common, "name": "GET /v1/at-risk?limit=50", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX, "requests": gets(["/v1/at-risk?limit=50"])},
            {**common, "name": "POST /v1/score (1 row)", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX, "requests": posts("/v1/score", [{"rows": [r]} for r in ours_rows])},
            {**common, "name": "POST /v1/score (1 row, columns+data)", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX, "requests": posts("/v1/score", [ours_table([r]) for r in ours_rows])},
            {**common, "name": "POST /v1/score (1,000 rows)", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX, "requests": posts("/v1/score", [{"rows": ours_rows}])},
            {**common, "name": "POST /v1/score (1,000 rows, columns+data)", "concurrency": 1, "duration": duration,
             "max_requests": SEQUENTIAL_MAX, "requests": posts("/v1/score", [ours_table(ours_rows)])},
            {**common, "name": f"POST /v1/score (1 row) x{concurrency}", "concurrency": concurrency,
             "duration": duration, "max_requests": CONCURRENT_MAX,
             "requests": posts("/v1/score", [{"rows": [r]} for r in ours_rows])},
        ]
        alone, ours_scoring = scenarios[:3], scenarios[3:]
        results.update(measure(alone, root, timeout=len(alone) * (duration + 60) + 60))
        for result in results.values():
            print(line(result), flush=True)
        if args.skip_mlflow:
            results.update(measure(ours_scoring, root, timeout=len(ours_scoring) * (duration + 60) + 60))

        # --- mlflow models serve, measured in turns with ours (both stay up) -------------------------------
        if not args.skip_mlflow:
            mport = free_port()
            mlog = root / "mlflow-serve.log"
            menv = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
                    "MLFLOW_DISABLE_TELEMETRY": "true"}
            mlflow_server = start([str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/retain-churn@champion",
                                   "--env-manager", "local", "--port", str(mport), "--host", HOST], menv, mlog, root)
            seconds = wait_until(f"http://{HOST}:{mport}/ping", mlflow_server, mlog, 300)
            print(f"mlflow models serve ready in {seconds:.1f} s (port {mport})", flush=True)
            columns = store["columns"]

            def split(rows: list[list[Any]]) -> dict[str, Any]:
                return {"dataframe_split": {"columns": columns, "data": rows}}

            def records(rows: list[list[Any]]) -> dict[str, Any]:
                return {"dataframe_records": [dict(zip(columns, row, strict=True)) for row in rows]}

            with httpx.Client(base_url=f"http://{HOST}:{mport}", timeout=120) as client:
                answer = client.post("/invocations", json=split(their_rows))
                as_records = client.post("/invocations", json=records(their_rows))
                for answered in (answer, as_records):
                    if answered.status_code != 200:
                        raise RuntimeError(f"/invocations: {answered.status_code} {answered.text[:2000]}")
                assert as_records.json() == answer.json()
                predictions = answer.json()["predictions"]
                assert len(predictions) == len(their_rows)
            print(f"mlflow /invocations answers per row: {predictions[0]}", flush=True)
            ours_p = [r["churn_probability"] for r in scored.json()["results"]]
            theirs_p = [p["churn_probability"] if isinstance(p, dict) else p for p in predictions]
            gap = max(abs(a - b) for a, b in zip(ours_p, theirs_p, strict=True) if a is not None and b is not None)
            print(f"largest churn probability gap, ours vs mlflow, over {len(ours_p):,} rows: {gap:.2e}", flush=True)

            def invocations(bodies: list[Any]) -> list[bytes]:
                return [request_bytes("POST", "/invocations", mport, json.dumps(b).encode()) for b in bodies]

            mcommon = {"host": HOST, "port": mport}
            mscenarios = [  # in the order of ours_scoring: each pair sends the same rows in the same shape
                {**mcommon, "name": "mlflow /invocations (1 row, records)", "concurrency": 1,
                 "duration": duration, "max_requests": SEQUENTIAL_MAX,
                 "requests": invocations([records([r]) for r in their_rows])},
                {**mcommon, "name": "mlflow /invocations (1 row)", "concurrency": 1, "duration": duration,
                 "max_requests": SEQUENTIAL_MAX, "requests": invocations([split([r]) for r in their_rows])},
                {**mcommon, "name": "mlflow /invocations (1,000 rows, records)", "concurrency": 1,
                 "duration": duration, "max_requests": SEQUENTIAL_MAX, "requests": invocations([records(their_rows)])},
                {**mcommon, "name": "mlflow /invocations (1,000 rows)", "concurrency": 1, "duration": duration,
                 "max_requests": SEQUENTIAL_MAX, "requests": invocations([split(their_rows)])},
                {**mcommon, "name": f"mlflow /invocations (1 row) x{concurrency}", "concurrency": concurrency,
                 "duration": duration, "max_requests": CONCURRENT_MAX,
                 "requests": invocations([split([r]) for r in their_rows])},
            ]
            results.update(measure(interleave(ours_scoring, mscenarios, args.rounds), root,
                                   timeout=2 * len(mscenarios) * (duration + 60 * args.rounds) + 60))
    finally:
        stop(server)
        stop(mlflow_server)
    report(results, args, store["customers"])


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, customers: int) -> None:
    c = args.concurrency
    print(f"\n=== {customers:,} customers in the store; retain serve --workers {args.workers}; "
          f"{args.duration:g} s per scenario; "
          f"load average now {os.getloadavg()[0]:.2f} ===")
    for result in results.values():
        print(line(result))
    clean = all(set(map(int, r["statuses"])) <= {200} and not r["failures"] for r in results.values())
    print(f"every answer 200: {verdict(clean)}")
    note = "" if customers >= 1_000_000 else " (smaller store than the target's 1,000,000)"
    get = results["GET /v1/customers/{id}"]
    print(f"\ntargets{note}:")
    print(f"  GET /v1/customers/{{id}} x{c}: p99 {get['p99']:.2f} ms < 20 ms: {verdict(get['p99'] < 20)}; "
          f"{get['rps']:,.0f} req/s >= 1,000: {verdict(get['rps'] >= 1000)}")
    lookup = results["POST /v1/customers/lookup (1,000 ids)"]
    print(f"  POST /v1/customers/lookup 1,000 ids: p50 {lookup['p50']:.2f} ms < 100 ms: "
          f"{verdict(lookup['p50'] < 100)}")
    risk = results["GET /v1/at-risk?limit=50"]
    print(f"  GET /v1/at-risk limit=50: p50 {risk['p50']:.2f} ms < 20 ms: {verdict(risk['p50'] < 20)}")
    if args.skip_mlflow:
        for name in ("POST /v1/score (1 row)", "POST /v1/score (1 row, columns+data)", "POST /v1/score (1,000 rows)",
                     "POST /v1/score (1,000 rows, columns+data)", f"POST /v1/score (1 row) x{c}"):
            print(f"  {name}: p50 {results[name]['p50']:.2f} ms, p99 {results[name]['p99']:.2f} ms, "
                  f"{results[name]['rps']:,.0f} req/s (mlflow skipped)")
        return
    print("  ours (probability, tier, CLV, value at risk, reasons) vs mlflow models serve (probability only),\n"
          "  the same rows in the same JSON shape (one object per row: our rows vs its dataframe_records;\n"
          "  names once: our columns+data vs its dataframe_split):")
    pairs = [("1 row, objects", "POST /v1/score (1 row)", "mlflow /invocations (1 row, records)", "p50"),
             ("1 row, split", "POST /v1/score (1 row, columns+data)", "mlflow /invocations (1 row)", "p50"),
             ("1,000 rows, objects", "POST /v1/score (1,000 rows)", "mlflow /invocations (1,000 rows, records)",
              "p50"),
             ("1,000 rows, split", "POST /v1/score (1,000 rows, columns+data)", "mlflow /invocations (1,000 rows)",
              "p50"),
             (f"1 row x{c}", f"POST /v1/score (1 row) x{c}", f"mlflow /invocations (1 row) x{c}", "p99")]
    for label, ours, theirs, stat in pairs:
        a, b = results[ours][stat], results[theirs][stat]
        times = BIG_CALL_SPEEDUP if label.startswith("1,000") else 1.0
        target = "" if stat == "p99" else f" (>= {times:g}x): {verdict(b / a >= times if times > 1 else a < b)}"
        print(f"    {label:<20} {stat} ours {a:8.2f} ms  mlflow {b:8.2f} ms  mlflow/ours {b / a:5.2f}x{target}")
    a, b = results[f"POST /v1/score (1 row) x{c}"]["rps"], results[f"mlflow /invocations (1 row) x{c}"]["rps"]
    print(f"    {f'1 row x{c} req/s':<20}     ours {a:8.1f}     mlflow {b:8.1f}     ours/mlflow {a / b:5.2f}x")


if __name__ == "__main__":
    main()
