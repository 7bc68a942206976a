"""Benchmark: how long `retain serve` takes to be ready over a big store, and how much memory it holds then.

For this checkout, and for `--baseline-checkout DIR` (another checkout of retain, e.g. an older commit) if
given, builds a store with that checkout's own code through its own CLI, as a user would: `retain generate`
and `retain train` on `--train-customers` customers (a temporary MLflow registry), then `retain generate` and
`retain score` on `--customers` customers. Then starts `retain serve` on it `--repeat` times and measures the
time from process start until `GET /ready` answers 200, and the server process's resident memory at that
moment (VmRSS; VmHWM is its peak while loading). Each command runs with the same Python interpreter and
PYTHONPATH set to its checkout, so each side imports its own code.

Also, per checkout: `retain --help` wall time (best of 5; target < 0.3 s) and which heavy libraries
`retain validate` imports (from `python -X importtime`, with their cumulative import time).

    .venv/bin/python benchmarks/serve_startup.py [--customers 1000000] [--train-customers 30000]
                                                 [--baseline-checkout DIR] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

AS_OF = "2025-12-30"  # the simulator's last event day (retain train refuses a later --as-of)
HOST = "127.0.0.1"
HELP_TARGET = 0.3
HEAVY = ("ibis", "duckdb", "pandas", "pyarrow", "pandera", "scipy", "sklearn", "xgboost", "lifetimes", "mlflow",
         "matplotlib", "fastapi", "uvicorn", "vaderSentiment")
# The installed `retain` script, run from the interpreter so PYTHONPATH decides which checkout it imports.
LAUNCHER = "import sys; from retain.cli import main; sys.argv[0] = 'retain'; sys.exit(main())"


@dataclass
class Side:
    """One checkout with its own scratch folder (data, MLflow store, score store)."""

    name: str
    checkout: Path
    root: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.checkout), "RETAIN_HOME": str(self.root),
                "RETAIN_MLFLOW_TRACKING_URI": f"sqlite:///{self.root}/mlflow.db",
                "RETAIN_MLFLOW_ARTIFACT_ROOT": str(self.root / "artifacts"), "MLFLOW_DISABLE_TELEMETRY": "true"}

    def command(self, *args: str, python_flags: tuple[str, ...] = ()) -> list[str]:
        return [sys.executable, *python_flags, "-c", LAUNCHER, *args]

    def run(self, *args: str) -> float:
        """Run a CLI command to completion; its wall time in seconds."""
        started = time.perf_counter()
        done = subprocess.run(self.command(*args), env=self.env(), cwd=self.root, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: retain {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return time.perf_counter() - started


def build_store(side: Side, customers: int, train_customers: int, seed: int) -> None:
    side.root.mkdir(parents=True)
    train, data = str(side.root / "train"), str(side.root / "all")
    steps = [("generate", train_customers, ("generate", "--customers", str(train_customers), "--seed",
                                            str(seed + 1), "--out", train)),
             ("train", train_customers, ("train", "--as-of", AS_OF, "--data", train)),
             ("generate", customers, ("generate", "--customers", str(customers), "--seed", str(seed), "--out", data)),
             ("score", customers, ("score", "--as-of", AS_OF, "--data", data))]
    for name, count, args in steps:
        seconds = side.run(*args)
        print(f"  [{side.name}] retain {name} ({count:,} customers): {seconds:.1f} s", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def ready(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_once(side: Side, timeout: float) -> tuple[float, dict[str, int]]:
    """Start `retain serve`, wait for /ready; seconds from start and memory then. The server is stopped."""
    port = free_port()
    log = side.root / "serve.log"
    with open(log, "wb") as handle:
        started = time.perf_counter()
        process = subprocess.Popen(side.command("serve", "--data", str(side.root / "all"), "--port", str(port)),
                                   env=side.env(), cwd=side.root, stdout=handle, stderr=subprocess.STDOUT)
        try:
            while not ready(port):
                if process.poll() is not None:
                    raise RuntimeError(f"{side.name}: retain serve exited ({process.returncode}):\n"
                                       f"{log.read_text()[-3000:]}")
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{side.name}: not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.02)
            seconds = time.perf_counter() - started
            return seconds, memory_kib(process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def help_seconds(side: Side, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(side.command("--help"), env=side.env(), cwd=side.root, capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def validate_imports(side: Side) -> dict[str, float]:
    """The heavy libraries `retain validate` imports, with their cumulative import time in seconds."""
    done = subprocess.run(side.command("validate", str(side.root / "train"), python_flags=("-X", "importtime")),
                          env=side.env(), cwd=side.root, capture_output=True, text=True, check=False)
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():  # "import time:   self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        name = name.strip()
        if name in HEAVY and cumulative.strip().isdigit():
            found[name] = int(cumulative) / 1e6
    if done.returncode != 0:
        print(f"  [{side.name}] note: retain validate exited {done.returncode}", flush=True)
    return found


def measure(side: Side, repeat: int, timeout: float) -> dict[str, float]:
    runs = [start_once(side, timeout) for _ in range(repeat)]
    for seconds, memory in runs:
        print(f"  [{side.name}] ready in {seconds:.2f} s; VmRSS {memory['VmRSS'] / 2**20:.2f} GiB, "
              f"VmHWM {memory['VmHWM'] / 2**20:.2f} GiB (load average {os.getloadavg()[0]:.2f})", flush=True)
    starts = sorted(s for s, _ in runs)
    rss = sorted(m["VmRSS"] for _, m in runs)
    hwm = sorted(m["VmHWM"] for _, m in runs)
    figures = {"startup_best": starts[0], "startup_median": starts[len(starts) // 2],
               "rss_gib": rss[len(rss) // 2] / 2**20, "hwm_gib": hwm[len(hwm) // 2] / 2**20,
               "help": help_seconds(side)}
    imports = validate_imports(side)
    listed = ", ".join(f"{name} {s:.2f} s" for name, s in sorted(imports.items(), key=lambda kv: -kv[1]))
    print(f"  [{side.name}] retain --help: best of 5 {figures['help']:.3f} s; retain validate imports: "
          f"{listed or 'none of ' + ', '.join(HEAVY)}", flush=True)
    return figures


def report(results: dict[str, dict[str, float]], customers: int) -> None:
    names = list(results)
    print(f"\n=== retain serve over {customers:,} customers; load average now {os.getloadavg()[0]:.2f} ===")
    rows = [("startup to /ready, best (s)", "startup_best"), ("startup to /ready, median (s)", "startup_median"),
            ("VmRSS when ready, median (GiB)", "rss_gib"), ("VmHWM when ready, median (GiB)", "hwm_gib"),
            ("retain --help, best of 5 (s)", "help")]
    print(f"{'':<32}" + "".join(f"{name:>12}" for name in names) + ("   ratio" if len(names) == 2 else ""))
    for label, key in rows:
        values = [results[name][key] for name in names]
        ratio = f"  {values[0] / values[1]:6.2f}x" if len(values) == 2 and values[1] else ""
        print(f"{label:<32}" + "".join(f"{v:12.3f}" for v in values) + ratio)
    if len(names) == 2:
        print(f"(ratio = {names[0]} / {names[1]})")
    for name in names:
        verdict = "PASS" if results[name]["help"] < HELP_TARGET else "MISS"
        print(f"{name}: retain --help {results[name]['help']:.3f} s < {HELP_TARGET} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="Server starts per checkout.")
    parser.add_argument("--baseline-checkout", type=Path, help="Another retain checkout to compare against.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait for /ready.")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    print(f"load average at start {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="retain-bench-startup-") as scratch:
        sides = [Side("this", here, Path(scratch) / "this")]
        if args.baseline_checkout is not None:
            sides.append(Side("baseline", args.baseline_checkout.resolve(), Path(scratch) / "baseline"))
        results = {}
        for side in sides:  # one side at a time: the machine is small and often shared
            print(f"{side.name}: {side.checkout}", flush=True)
            build_store(side, args.customers, args.train_customers, args.seed)
            results[side.name] = measure(side, args.repeat, args.timeout)
    report(results, args.customers)


if __name__ == "__main__":
    main()
