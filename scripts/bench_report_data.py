"""What scripts/bench left in a folder (argv[1]), loaded, and the figures every section of
BENCHMARKS.md derives from it: rates, requests served, CPU per request."""

import json
import platform
import subprocess
import sys
from pathlib import Path

folder = Path(sys.argv[1])
everything = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
runs = {name: run for name, run in everything.items() if "throughput" in run}
polls = {name: run for name, run in everything.items() if "delivery" in run}
rss = {p.name.removesuffix(".rss"): json.loads(p.read_text()) for p in folder.glob("*.rss")}
# Resident memory of each server just before a long-poll run and 5 s after it.
rss_before = {p.name.removesuffix(".rss-before"): json.loads(p.read_text())
              for p in folder.glob("*.rss-before")}
rss_after = {p.name.removesuffix(".rss-after"): json.loads(p.read_text())
             for p in folder.glob("*.rss-after")}
cpu = {p.name.removesuffix(".cpu"): json.loads(p.read_text()) for p in folder.glob("*.cpu")}
wrk = {name: run for name, run in everything.items() if "duration_us" in run}
slap = {name: run for name, run in everything.items() if run.get("tool") == "mysqlslap"}
profiles = {p.stem: json.loads(p.read_text())["shares"] for p in folder.glob("*.profile")}


def rate(name):
    """Requests (wrk: answered 2xx) or statements per second of a wrk or mysqlslap run."""
    if name in wrk:
        run = wrk[name]
        # A floor run is answered 400 by design: every answer counts.
        answered = run["requests"] - (0 if name.startswith("floor-") else run["errors"]["status"])
        return answered / (run["duration_us"] / 1e6)
    if name in slap:
        return slap[name]["statements"] / slap[name]["seconds"]
    if name in runs:
        return runs[name]["throughput"]
    if name in polls and name in cpu:
        return done(name) / cpu[name]["wall"]
    return 0.0


def done(name):
    """Requests served in a run (for CPU per request)."""
    if name in wrk:
        return wrk[name]["requests"]
    if name in slap:
        return slap[name]["statements"]
    if name in runs:
        return runs[name]["requests"]
    if name in polls:
        return polls[name]["sent"] + polls[name]["delivered"]
    return 0


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return "unknown"


def verdict(run):
    integrity = run.get("integrity")
    if integrity is None:
        return "n/a (direct SQL)"
    if integrity["violations"]:
        return f"**FAIL** ({len(integrity['violations'])} violations)"
    return f"PASS ({integrity['messages']} messages, {integrity['rooms']} rooms)"


def errors(run):
    total = sum(run["errors"].values())
    return "0" if total == 0 else f"{total} {run['errors']}"


def latency(lat):
    if lat["count"] == 0:
        return "–"
    return (f"{lat['p50_ms']:.1f} / {lat['p90_ms']:.1f} / {lat['p99_ms']:.1f} / "
            f"{lat['p999_ms']:.1f} / {lat['max_ms']:.1f}")


def us(seconds, requests):
    return f"{seconds / requests * 1e6:.0f}" if requests and seconds >= 0.05 else "–"


def per_request(name, process):
    c, n = cpu.get(name), done(name)
    if not c or not n:
        return None
    seconds = c["rpc-server-0"] + c["rpc-server-1"] if process == "rpc" else c[process]
    return seconds / n * 1e6
