"""`make bench`: the node under the shape of work it meets, against ceilings.

    .venv/bin/python benchmarks/bench.py [--backends sqlite,postgresql] [--duration 10]

For each backend it loads 100,000 Locations (3 EVSEs, 2 connectors each), starts
``ocpi serve`` (one worker) the way a user does, and drives it with wrk. In the
same run, on the same machine, a bare FastAPI app (``ceiling_app.py``) is driven
the same way: its write and read rates are the ceilings every figure is divided
by, so results compare across machines. The outbox drain runs ``outbox.py``'s
measurement against a receiver in its own process. The results go to
``docs/benchmarks.md`` (between its markers) and ``benchmarks/last_run.json``.
"""

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import outbox as outbox_bench  # noqa: E402
from cdrs import bench_cdrs  # noqa: E402
from pricing import bench_pricing  # noqa: E402

from ocpi import logs  # noqa: E402
from ocpi.core import jsonutil  # noqa: E402
from ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from ocpi.modules.locations import mapper as location_mapper  # noqa: E402
from ocpi.outbox.worker import OutboxWorker  # noqa: E402
from ocpi.peers.credentials import Party  # noqa: E402
from ocpi.peers.registry import Registry  # noqa: E402
from ocpi.store.database import Database  # noqa: E402
from ocpi.store.sql_store import SqlStore  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
OPERATOR = "bench-operator-token"
STAMP = "2026-11-01T00:00:00Z"
# issue 20's targets, per backend: ratios to the ceilings of the same run (drains: to the
# bare sequential sender of the same run), peak RSS in MB, mixed shares of the alone rates
TARGETS: dict[str, dict[str, float]] = {
    "sqlite": {"put_session": 0.50, "patch_evse": 0.45, "get_first_page": 0.50,
               "get_page_at_offset": 0.50, "drain": 2.0, "drain_one_partner": 0.8,
               "rss_mb": 150, "patch_share": 0.4, "get_share": 0.4, "offset_cost": 1.5,
               "access_put_cpu": 0.05, "access_get_cpu": 0.05},
    "postgresql": {"put_session": 0.35, "patch_evse": 0.35, "get_first_page": 0.40,
                   "get_page_at_offset": 0.40, "drain": 1.5, "drain_one_partner": 0.6,
                   "rss_mb": 150, "patch_share": 0.4, "get_share": 0.4, "offset_cost": 1.5,
                   "access_put_cpu": 0.05, "access_get_cpu": 0.05},
}
_TARGET_LABELS = {
    "put_session": "PUT Session, of the write ceiling",
    "patch_evse": "PATCH EVSE status, of the write ceiling",
    "get_first_page": "GET 50 Locations, of the read ceiling",
    "get_page_at_offset": "GET 50 Locations at offset 90%, of the read ceiling",
    "offset_cost": "page at offset 90% cost / first page cost (at most)",
    "drain": "outbox drain to 10 partners, x the bare sender",
    "drain_one_partner": "outbox drain to one partner, x the bare sender",
    "rss_mb": "peak RSS, MB (under)",
    "patch_share": "mixed load: PATCH keeps of its alone rate",
    "get_share": "mixed load: GET keeps of its alone rate",
    "access_put_cpu": "PUT Session: the access log's share of the node's CPU (at most; "
                      "issue 21: rates within 5%)",
    "access_get_cpu": "GET page: the access log's share of the node's CPU (at most; "
                      "issue 21: rates within 5%)",
}


def measured(r: dict[str, Any], key: str) -> float:
    if key == "rss_mb":
        return float(r["peak_rss_mb"])
    if key in ("patch_share", "get_share"):
        return float(r["mixed"][key])
    if key in ("access_put_cpu", "access_get_cpu"):
        return float(r["access_log_off"][key.removeprefix("access_") + "_share"])
    return float(r["ratios"][key])


def met(key: str, value: float, target: float) -> bool:
    return value < target if key == "rss_mb" else \
        value <= target if key in ("offset_cost", "access_put_cpu", "access_get_cpu") \
        else value >= target


# --- data --------------------------------------------------------------------------

def location(n: int, cc: str, pid: str) -> dict[str, Any]:
    """A canonical Location with 3 EVSEs of 2 connectors, like a real site."""
    evses = []
    for e in (1, 2, 3):
        evses.append({
            "uid": f"L{n}-{e}", "evse_id": f"{cc}*{pid}*E{n:06d}{e}",
            "status": "AVAILABLE", "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
            "connectors": [
                {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                 "power_type": "AC_3_PHASE", "max_voltage": 400, "max_amperage": 32,
                 "max_electric_power": 22000, "last_updated": STAMP},
                {"id": "2", "standard": "IEC_62196_T2_COMBO", "format": "CABLE",
                 "power_type": "DC", "max_voltage": 920, "max_amperage": 200,
                 "max_electric_power": 150000, "last_updated": STAMP},
            ],
            "last_updated": STAMP,
        })
    return {
        "country_code": cc, "party_id": pid, "id": f"L{n}", "publish": True,
        "name": f"Site {n}", "address": f"Laan {n % 500}", "city": "Utrecht",
        "postal_code": f"{3500 + n % 400} AB", "country": "NLD",
        "coordinates": {"latitude": f"{52 + n % 1000 / 10000:.6f}",
                        "longitude": f"{5 + n % 997 / 10000:.6f}"},
        "parking_type": "ON_STREET", "evses": evses, "time_zone": "Europe/Amsterdam",
        "opening_times": {"twentyfourseven": True}, "last_updated": STAMP,
    }


async def load(url: str, count: int) -> dict[str, str]:
    """The store a national CPO has, plus a partner CPO's 1,000 Locations.

    Written through the store's own bulk path (what ``ocpi import`` and pulls
    use), so every column and count is what the node itself keeps.
    """
    db = Database(url)
    registry = Registry(db)
    _, emsp_token = await registry.add_peer("DE", "MSP", "EMSP", name="bench-emsp")
    _, cpo_token = await registry.add_peer("DE", "CPX", "CPO", name="bench-cpo")
    store = SqlStore(db)
    step = 1000
    for start in range(0, count, step):
        await store.upsert_many(ModuleID.locations, RoleEnum.cpo, [
            location(n, "NL", "OCP") for n in range(start, min(count, start + step))])
    await store.upsert_many(ModuleID.locations, RoleEnum.emsp,
                            [location(n, "DE", "CPX") for n in range(1000)])
    await db.dispose()
    b64 = base64.b64encode
    return {"emsp": b64(emsp_token.encode()).decode(), "cpo": b64(cpo_token.encode()).decode()}


def page_file(path: Path) -> None:
    """The read ceiling's fixed answer: a real 50-Location page, serialised once."""
    page = [location_mapper.to_wire(location(n, "NL", "OCP"), "2.2.1", "location")
            for n in range(50)]
    path.write_bytes(jsonutil.dumps({"data": page, "status_code": 1000,
                                     "status_message": "Success",
                                     "timestamp": "2026-11-21T00:00:00Z"}))


# --- processes ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def start_node(db_url: str, workers: int = 1, **env_extra: str
               ) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "OCPI_OPERATOR_TOKEN": OPERATOR, **env_extra}
    # its log (an access line per request, on by default) to a file, as in production
    with tempfile.NamedTemporaryFile(prefix="ocpi-bench-", suffix=".log",
                                     delete=False) as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "ocpi"), "serve",
                                 "--database", db_url, "--port", str(port), "--country-code",
                                 "NL", "--party-id", "OCP", "--workers", str(workers)],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/ocpi/versions", proc)
    return proc, base


def start_ceiling(page: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "CEILING_PAGE": str(page)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port",
                             str(port), "--log-level", "warning", "--no-access-log"],
                            cwd=HERE, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/ocpi/cpo/2.2.1/locations", proc)
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "


def cpu_seconds(root: int | None = None, comm: str | None = None) -> float:
    """CPU time (user + system) of ``root`` and its descendants, or of every process
    named ``comm`` (PostgreSQL's backends), so far."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        try:
            name = Path(f"/proc/{entry.name}/comm").read_text().strip()
        except OSError:
            continue
        procs[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick,
                                  name)
    if comm is not None:
        return sum(cpu for _, cpu, name in procs.values() if name.startswith(comm))
    wanted = _tree(root, {pid: ppid for pid, (ppid, _, _) in procs.items()})
    return sum(procs[pid][1] for pid in wanted if pid in procs)


def _tree(root: int | None, parents: dict[int, int]) -> set[int | None]:
    """``root`` and a few generations below it: uvicorn's workers and what they start."""
    wanted: set[int | None] = {root}
    for _ in range(4):
        wanted |= {pid for pid, ppid in parents.items() if ppid in wanted}
    return wanted


def wrk_costed(args: argparse.Namespace, node_pid: int, url: str, script: str,
               token: str = "", connections: int | None = None, **script_env: str
               ) -> dict[str, Any]:
    """A wrk run, and the CPU it cost per request: in the node's processes and in
    PostgreSQL's (the capacity model of docs/deployment.md is built from these)."""
    import resource

    def reaped() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    proc = wrk_start(args, url, script, token, connections, **script_env)
    node0, pg0, t0 = cpu_seconds(node_pid), cpu_seconds(comm="postgres"), time.perf_counter()
    wrk0 = reaped()
    result = wrk_result(proc)  # wrk is reaped here: its CPU joins RUSAGE_CHILDREN
    took = time.perf_counter() - t0
    node1, pg1, wrk1 = cpu_seconds(node_pid), cpu_seconds(comm="postgres"), reaped()
    requests = max(result["rps"] * took, 1)
    result["node_cpu_ms"] = round((node1 - node0) * 1000 / requests, 3)
    result["pg_cpu_ms"] = round((pg1 - pg0) * 1000 / requests, 3)
    result["wrk_cpu_ms"] = round((wrk1 - wrk0) * 1000 / requests, 3)
    return result


# --- load generator ----------------------------------------------------------------

def ensure_wrk() -> str:
    """wrk from the system's packages, installed when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("installing wrk from the system packages ...", flush=True)
    if subprocess.call([*sudo, "apt-get", "install", "-y", "-q", "wrk"]) != 0:
        subprocess.check_call([*sudo, "apt-get", "update", "-q"])
        subprocess.check_call([*sudo, "apt-get", "install", "-y", "-q", "wrk"])
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed")
    return found


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk_start(args: argparse.Namespace, url: str, script: str, token: str = "",
              connections: int | None = None, **script_env: str) -> subprocess.Popen[str]:
    """A wrk run in the background (after a short warm-up), for ``wrk_result``;
    ``script_env``: the script's settings (``BENCH_IDS=...``)."""
    cmd = [args.wrk, "-t1", f"-c{connections or args.connections}", "--latency", "-s",
           str(HERE / "wrk" / script)]
    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_WRK_DIR": str(HERE / "wrk"),
           **script_env}
    subprocess.run([*cmd, "-d2s", url], env=env, capture_output=True, check=True)
    return subprocess.Popen([*cmd, f"-d{args.duration}s", url], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """requests/s, p50/p99 in ms, errors of a finished run."""
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"wrk failed: {err}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    rejected = re.search(r"OCPI rejected: (\d+)", out)
    result = {"rps": round(rate), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
              "non_2xx": int(bad.group(1)) if bad else 0,
              # answered HTTP 200 but refused (2001...): not the work being measured
              "rejected": int(rejected.group(1)) if rejected else 0}
    if errors:
        result["socket_errors"] = errors.group(1)
    return result


def wrk(args: argparse.Namespace, url: str, script: str, token: str = "",
        connections: int | None = None, **script_env: str) -> dict[str, Any]:
    """One wrk run (after a short warm-up): requests/s, p50/p99 in ms, errors."""
    return wrk_result(wrk_start(args, url, script, token, connections, **script_env))


# --- one backend -------------------------------------------------------------------

async def reset_postgres(name: str) -> str:
    import asyncpg

    admin = PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin.rsplit("/", 1)[0] + "/" + name


def run_backend(args: argparse.Namespace, backend: str, tmp: Path) -> dict[str, Any]:
    if backend == "sqlite":
        db_url, drain_url = f"sqlite:///{tmp}/bench.db", f"sqlite:///{tmp}/drain.db"
    else:
        db_url = asyncio.run(reset_postgres("ocpi_bench"))
        drain_url = asyncio.run(reset_postgres("ocpi_bench_drain"))
    print(f"[{backend}] loading {args.locations:,} locations ...", flush=True)
    t = time.perf_counter()
    tokens = asyncio.run(load(db_url, args.locations))
    print(f"[{backend}] loaded in {time.perf_counter() - t:.0f}s", flush=True)

    page = tmp / "page.json"
    page_file(page)
    ceiling, ceiling_url = start_ceiling(page)
    try:
        write_ceiling = wrk(args, f"{ceiling_url}/ocpi/emsp/2.2.1/sessions", "put_session.lua",
                            "x")
        read_ceiling = wrk(args, f"{ceiling_url}/ocpi/cpo/2.2.1/locations?limit=50",
                           "get.lua", "x")
    finally:
        stop(ceiling)

    node, base = start_node(db_url)
    try:
        put = wrk_costed(args, node.pid, f"{base}/ocpi/emsp/2.2.1/sessions",
                         "put_session.lua", tokens["cpo"])
        patch = wrk_costed(args, node.pid, f"{base}/ocpi/emsp/2.2.1/locations",
                           "patch_evse.lua", tokens["cpo"])
        first = wrk_costed(args, node.pid,
                           f"{base}/ocpi/cpo/2.2.1/locations?offset=0&limit=50", "get.lua",
                           tokens["emsp"])
        deep_offset = int(args.locations * 0.9)
        deep = wrk(args, f"{base}/ocpi/cpo/2.2.1/locations?offset={deep_offset}&limit=50",
                   "get.lua", tokens["emsp"])
        check = httpx.get(f"{base}/ocpi/cpo/2.2.1/locations?offset={deep_offset}&limit=50",
                          headers={"Authorization": f"Token {tokens['emsp']}"}, timeout=60).json()
        assert len(check["data"]) == 50 and check["data"][0]["id"] == f"L{deep_offset}", \
            "the deep page is not the right page"
        rss = peak_rss_mb(node.pid)
    finally:
        stop(node)
    access = access_log_cost(args, db_url, tokens)

    print(f"[{backend}] outbox drain ...", flush=True)
    drain = asyncio.run(outbox_drain(drain_url, args.messages, args.partners))
    single_url = drain_url.replace("drain", "single")
    if backend == "postgresql":
        single_url = asyncio.run(reset_postgres("ocpi_bench_single"))
    single = asyncio.run(outbox_drain(single_url, args.messages // 5, 1))
    print(f"[{backend}] CDRs at the end of {args.cdr_sessions:,} sessions ...", flush=True)
    if backend == "sqlite":
        cdr_urls = (f"sqlite:///{tmp}/cdr_a.db", f"sqlite:///{tmp}/cdr_b.db")
    else:
        cdr_urls = (asyncio.run(reset_postgres("ocpi_bench_cdr_a")),
                    asyncio.run(reset_postgres("ocpi_bench_cdr_b")))
    cdr_cost = asyncio.run(bench_cdrs(args.cdr_sessions, cdr_urls))
    print(f"[{backend}] mixed load: own PATCHes and a partner's GETs ...", flush=True)
    mixed_url = f"sqlite:///{tmp}/mixed.db" if backend == "sqlite" else \
        asyncio.run(reset_postgres("ocpi_bench_mixed"))
    mix = mixed(args, mixed_url)
    scaled = None
    if backend == "postgresql" and args.scale_out:
        print(f"[{backend}] scale-out: --workers 2 and an `ocpi outbox work` ...", flush=True)
        scaled = scale_out(args, db_url, tokens, mixed_url)
    result = {
        "access_log_off": access,
        "scale_out": scaled,
        "mixed": mix,
        "cdr_generation": cdr_cost,
        "write_ceiling": write_ceiling, "read_ceiling": read_ceiling,
        "put_session": put, "patch_evse": patch, "get_first_page": first,
        "get_page_at_offset": {**deep, "offset": deep_offset},
        "outbox_drain": drain, "outbox_drain_one_partner": single,
        "peak_rss_mb": round(rss),
        "ratios": {
            "put_session": round(put["rps"] / write_ceiling["rps"], 2),
            "patch_evse": round(patch["rps"] / write_ceiling["rps"], 2),
            "get_first_page": round(first["rps"] / read_ceiling["rps"], 2),
            "get_page_at_offset": round(deep["rps"] / read_ceiling["rps"], 2),
            "offset_cost": round(first["rps"] / deep["rps"], 2),
            "drain": round(drain["per_s"] / drain["bare_sender_per_s"], 2),
            "drain_one_partner": round(single["per_s"] / single["bare_sender_per_s"], 2),
        },
    }
    print(json.dumps({backend: result}, indent=1), flush=True)
    return result


def thread_cpu_seconds(root: int, comm: str) -> float:
    """CPU time so far of the threads named ``comm`` in ``root``'s process tree (the log
    writer names itself: ``ocpi.logs.WRITER_THREAD``)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:
            parents[int(entry.name)] = int(fields[1])
    total = 0.0
    for pid in _tree(root, parents):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                if (task / "comm").read_text().strip() != comm:
                    continue
                raw = (task / "stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def access_log_cost(args: argparse.Namespace, db_url: str, tokens: dict[str, str]
                    ) -> dict[str, Any]:
    """What the access log (on by default) costs PUT Session and GET page.

    Its price is CPU: the line's formatting in the writer thread, plus about 1 µs on
    the event loop to queue it. With the log on, the writer thread's own CPU counter
    against the whole node's gives that share exactly, whatever the machine does
    meanwhile; a CPU-bound node's rate falls by the same share. The rates with and
    without it are measured too, in four pairs of runs of a fresh node each, the order
    alternating (on off, off on, ...), each pair's ratio taken between runs next to
    each other in time and the median kept; on this shared machine two runs of the
    same node drift by 10% and more, so that ratio is shown, not judged."""
    duration = max(3, args.duration // 2)
    short = argparse.Namespace(**{**vars(args), "duration": duration})
    runs: dict[str, dict[str, list[int]]] = {"on": {"put": [], "get": []},
                                             "off": {"put": [], "get": []}}
    cpu: dict[str, list[float]] = {"put": [], "get": []}  # the writer's share of the node's
    workloads = {"put": ("/ocpi/emsp/2.2.1/sessions", "put_session.lua", "cpo"),
                 "get": ("/ocpi/cpo/2.2.1/locations?offset=0&limit=50", "get.lua", "emsp")}
    for pair in range(4):
        for mode in ("on", "off") if pair % 2 == 0 else ("off", "on"):
            node, base = start_node(db_url, **({"OCPI_ACCESS_LOG": "0"} if mode == "off"
                                               else {}))
            try:
                for kind, (path, script, who) in workloads.items():
                    node0 = cpu_seconds(node.pid)
                    writer0 = thread_cpu_seconds(node.pid, logs.WRITER_THREAD)
                    runs[mode][kind].append(wrk(short, base + path, script, tokens[who])["rps"])
                    if mode == "on":
                        time.sleep(logs.LINGER * 2)  # the last lines written
                        spent = cpu_seconds(node.pid) - node0
                        writer = thread_cpu_seconds(node.pid, logs.WRITER_THREAD) - writer0
                        cpu[kind].append(writer / spent if spent else 0.0)
            finally:
                stop(node)

    def share(kind: str) -> float:
        return round(statistics.median(
            on / off for on, off in zip(runs["on"][kind], runs["off"][kind], strict=True)), 2)

    return {"put_share": share("put"), "get_share": share("get"), "runs": runs,
            "seconds_per_run": duration,
            "put_cpu_share": round(statistics.median(cpu["put"]), 3),
            "get_cpu_share": round(statistics.median(cpu["get"]), 3),
            "put_session": {"rps": round(statistics.median(runs["off"]["put"]))},
            "get_first_page": {"rps": round(statistics.median(runs["off"]["get"]))},
            "put_on": {"rps": round(statistics.median(runs["on"]["put"]))},
            "get_on": {"rps": round(statistics.median(runs["on"]["get"]))}}


def scale_out(args: argparse.Namespace, db_url: str, tokens: dict[str, str],
              mixed_url: str) -> dict[str, Any]:
    """The production shape (docs/deployment.md): ``ocpi serve --workers 2`` without a
    delivery worker, and one ``ocpi outbox work`` process beside it. Partners' PUT
    Sessions from 64 connections (the load that once exhausted PostgreSQL's
    connections) and pages on the 100,000 Locations; then own EVSE PATCHes pushed to a
    partner, and how long the outbox process takes to empty the queue after them."""
    ocpi = str(Path(sys.executable).parent / "ocpi")
    quiet = {"OCPI_OUTBOX_WORKER": "0"}
    out: dict[str, Any] = {"workers": 2}
    node, base = start_node(db_url, 2, **quiet)
    try:
        out["put_session_64"] = wrk_costed(args, node.pid, f"{base}/ocpi/emsp/2.2.1/sessions",
                                           "put_session.lua", tokens["cpo"], connections=64)
        out["patch_evse"] = wrk_costed(args, node.pid, f"{base}/ocpi/emsp/2.2.1/locations",
                                       "patch_evse.lua", tokens["cpo"])
        out["get_first_page"] = wrk_costed(
            args, node.pid, f"{base}/ocpi/cpo/2.2.1/locations?offset=0&limit=50", "get.lua",
            tokens["emsp"])
    finally:
        stop(node)
    receiver_proc, receiver = outbox_bench.start_receiver()
    try:
        asyncio.run(load_mixed(mixed_url, receiver, again=True))
        node, base = start_node(mixed_url, 2, **quiet)
        worker = subprocess.Popen([ocpi, "outbox", "work", "--database", mixed_url],
                                  env={**os.environ, **quiet}, stdout=subprocess.DEVNULL)
        try:
            operator = base64.b64encode(OPERATOR.encode()).decode()
            own = {"BENCH_PATCH_PATH": "/ocpi/cpo/2.2.1/locations/NL/OCP/", "BENCH_ID": "M",
                   "BENCH_IDS": "200"}
            out["own_patch_pushed"] = wrk(args, f"{base}/ocpi/cpo/2.2.1/locations",
                                          "patch_evse.lua", operator, 16, **own)
            t = time.perf_counter()
            out["queue_left_at_end"] = asyncio.run(pending(mixed_url))
            while asyncio.run(pending(mixed_url)):
                if time.perf_counter() - t > 120:
                    raise RuntimeError("the outbox process did not empty the queue")
                time.sleep(0.2)
            out["queue_emptied_after_s"] = round(time.perf_counter() - t, 1)
        finally:
            stop(worker)
            stop(node)
    finally:
        stop(receiver_proc)
    return out


async def pending(url: str) -> int:
    """Messages still waiting in the outbox."""
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.begin() as tx:
            return int((await tx.execute(
                text("SELECT count(*) FROM outbox WHERE state = 'pending'"))).scalar_one())
    finally:
        await db.dispose()


async def load_mixed(url: str, receiver: str, again: bool = False) -> str:
    """200 of our own Locations (``M0``...) and an eMSP partner registered with a
    Locations receiver (``receiver``), so each own change is pushed; its token."""
    db = Database(url)
    registry = Registry(db)
    if again:  # the same partner, at a new receiver
        peer = next(p for p in await registry.list_peers() if p.name == "bench-emsp")
        await registry.update_peer(peer.id, endpoints=[
            {"identifier": "locations", "role": "RECEIVER",
             "url": f"{receiver}/ocpi/emsp/2.2.1/locations"}])
        await db.dispose()
        return ""
    peer, token = await registry.add_peer("DE", "MSP", "EMSP", name="bench-emsp")
    await registry.update_peer(
        peer.id, state="registered", version="2.2.1", token_out="bench-token",
        parties=[Party("EMSP", "DE", "MSP", {})],
        endpoints=[{"identifier": "locations", "role": "RECEIVER",
                    "url": f"{receiver}/ocpi/emsp/2.2.1/locations"}])
    sites = []
    for n in range(200):
        site = location(n, "NL", "OCP")
        site["id"] = f"M{n}"
        for e, evse in enumerate(site["evses"], start=1):
            evse["uid"] = f"M{n}-{e}"
        sites.append(site)
    await SqlStore(db).upsert_many(ModuleID.locations, RoleEnum.cpo, sites)
    await db.dispose()
    return base64.b64encode(token.encode()).decode()


def mixed(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    """Own EVSE PATCHes (management API, pushed) and a partner's page GETs, 8
    connections each: each alone, then both at once; the share of its alone rate each
    keeps together (``patch_share``, ``get_share``)."""
    receiver_proc, receiver = outbox_bench.start_receiver()
    try:
        partner = asyncio.run(load_mixed(db_url, receiver))
        node, base = start_node(db_url)
        operator = base64.b64encode(OPERATOR.encode()).decode()
        patch_url, get_url = f"{base}/ocpi/cpo/2.2.1/locations", \
            f"{base}/ocpi/cpo/2.2.1/locations?limit=50"
        own = {"BENCH_PATCH_PATH": "/ocpi/cpo/2.2.1/locations/NL/OCP/", "BENCH_ID": "M",
               "BENCH_IDS": "200"}  # our own EVSEs, through the management API
        try:
            patch = wrk(args, patch_url, "patch_evse.lua", operator, 8, **own)
            get = wrk(args, get_url, "get.lua", partner, connections=8)
            both = (wrk_start(args, patch_url, "patch_evse.lua", operator, 8, **own),
                    wrk_start(args, get_url, "get.lua", partner, 8))
            patch_mixed, get_mixed = (wrk_result(p) for p in both)
        finally:
            stop(node)
    finally:
        stop(receiver_proc)
    return {"patch_alone": patch, "get_alone": get, "patch_together": patch_mixed,
            "get_together": get_mixed,
            "patch_share": round(patch_mixed["rps"] / patch["rps"], 2),
            "get_share": round(get_mixed["rps"] / get["rps"], 2)}


async def outbox_drain(url: str, messages: int, partners: int) -> dict[str, Any]:
    """A 10,000-message backlog spread over ``partners`` eMSPs, and over one.

    Each partner's FIFO is served in order, one message at a time: a single
    partner is bounded by a round trip plus a durable settle. Partners drain
    in parallel, as they do for a CPO sending to many eMSPs and hubs.
    """
    proc, receiver = outbox_bench.start_receiver()
    try:
        db = Database(url)
        registry = Registry(db)
        for i in range(partners):
            peer, _ = await registry.add_peer("DE", f"M{i:02d}", "EMSP", name=f"bench-{i}")
            await registry.update_peer(
                peer.id, state="registered", version="2.2.1", token_out="bench-token",
                parties=[Party("EMSP", "DE", f"M{i:02d}", {})],
                endpoints=[{"identifier": "sessions", "role": "RECEIVER",
                            "url": f"{receiver}/ocpi/emsp/2.2.1/sessions"}])
            await registry.set_profile(f"bench-{i}", delivery="every-message")
        bare = await outbox_bench.bare_rate(receiver, min(messages, 3000))
        store = SqlStore(db)
        for start in range(0, messages, 1000):  # the backlog, written while partners were away
            batch = []
            for n in range(start, min(messages, start + 1000)):
                data = outbox_bench.session(n, n)
                data["cdr_token"] = {**data["cdr_token"], "party_id": f"M{n % partners:02d}"}
                batch.append(data)
            await store.upsert_many(ModuleID.sessions, RoleEnum.cpo, batch)
        worker = OutboxWorker(db, from_party=outbox_bench.CPO)
        t = time.perf_counter()
        await worker.drain_once()
        many = messages / (time.perf_counter() - t)
        assert worker.counters.delivered == messages, worker.counters
        await db.dispose()
    finally:
        proc.terminate()
        proc.wait(10)
    return {"messages": messages, "partners": partners, "per_s": round(many),
            "bare_sender_per_s": round(bare)}


# --- report ------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


results_pricing: dict[str, Any] = {}  # backend-independent figures of the same run


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
             f"wrk -t1 -c{args.connections} -d{args.duration}s, "
             f"{args.locations:,} Locations (3 EVSEs, 2 connectors each).", ""]
    lines.append("| workload | " + " | ".join(results) + " |")
    lines.append("|---|" + "---|" * len(results))

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results.values()) + " |")

    def fig(key: str) -> Any:
        return lambda r: (f"{r[key]['rps']:,}/s, p50 {r[key]['p50_ms']} ms, "
                          f"p99 {r[key]['p99_ms']} ms")

    row("ceiling: bare FastAPI write", fig("write_ceiling"))
    row("ceiling: bare FastAPI read (fixed page)", fig("read_ceiling"))
    for key, label, ceiling in (("put_session", "PUT Session (2.2.1, 1,000 ids)", "write"),
                                ("patch_evse", "PATCH EVSE status", "write"),
                                ("get_first_page", "GET 50 Locations, offset 0", "read"),
                                ("get_page_at_offset", "GET 50 Locations, offset 90%",
                                 "read")):
        row(label, lambda r, k=key, c=ceiling: f"**{r['ratios'][k]:.2f}** of {c} ceiling; "
            + fig(k)(r))
    row("offset 90% cost / first page cost", lambda r: f"{r['ratios']['offset_cost']:.2f}")
    row("outbox drain, 10,000 backlog over 10 partners",
        lambda r: f"**{r['ratios']['drain']:.2f}x** a bare sequential sender: "
        f"{r['outbox_drain']['per_s']:,} msg/s ({r['outbox_drain']['bare_sender_per_s']:,}/s)")
    row("outbox drain, 2,000 backlog to one partner",
        lambda r: f"**{r['ratios']['drain_one_partner']:.2f}x** a bare sequential sender: "
        f"{r['outbox_drain_one_partner']['per_s']:,} msg/s "
        f"({r['outbox_drain_one_partner']['bare_sender_per_s']:,}/s)")
    row("mixed: own PATCH EVSE (8 conn.) alone / with GETs",
        lambda r: f"{r['mixed']['patch_alone']['rps']:,}/s / "
        f"{r['mixed']['patch_together']['rps']:,}/s: keeps **{r['mixed']['patch_share']:.2f}**")
    row("mixed: partner GET page (8 conn.) alone / with PATCHes",
        lambda r: f"{r['mixed']['get_alone']['rps']:,}/s / "
        f"{r['mixed']['get_together']['rps']:,}/s: keeps **{r['mixed']['get_share']:.2f}**")
    row("peak RSS serving the pages", lambda r: f"{r['peak_rss_mb']} MB")
    row("access log (default): its writer's share of the node's CPU, PUT Session / GET page",
        lambda r: f"{r['access_log_off']['put_cpu_share']:.1%} / "
        f"{r['access_log_off']['get_cpu_share']:.1%}")
    row("PUT Session / GET page with the access log against without it "
        "(median of four alternating pairs; median rates; machine drift 10%+)",
        lambda r: f"{r['access_log_off']['put_share']:.2f} / "
        f"{r['access_log_off']['get_share']:.2f} ({r['access_log_off']['put_on']['rps']:,} vs "
        f"{r['access_log_off']['put_session']['rps']:,}/s; "
        f"{r['access_log_off']['get_on']['rps']:,} vs "
        f"{r['access_log_off']['get_first_page']['rps']:,}/s)")
    row("a COMPLETED session written, without / with its CDR (priced, stored, queued)",
        lambda r: f"{r['cdr_generation']['ms_per_session_without_cdr']} / "
        f"{r['cdr_generation']['ms_per_session_with_cdr']} ms: the CDR adds "
        f"{r['cdr_generation']['cdr_ms']} ms")
    for backend, r in results.items():
        if r.get("scale_out"):
            lines += ["", scale_out_report(backend, r)]
    pricing = results_pricing.get("pricing")
    if pricing:
        lines += ["", f"Pricing engine: {pricing['sessions_per_second']:,} sessions/s "
                  f"({pricing['periods']} charging periods on {pricing['tariff']}, "
                  "one process)."]
    for backend, r in results.items():
        targets = TARGETS.get(backend, {})
        lines += ["", f"Targets ({backend}, durable):", ""]
        for key, target in targets.items():
            value = measured(r, key)
            lines.append(f"- {_TARGET_LABELS[key]}: {value:g} against {target:g}, "
                         f"{verdict(met(key, value, target))}")
    runs = [r[k] for r in results.values() for k in
            ("put_session", "patch_evse", "get_first_page", "get_page_at_offset")]
    runs += [r["mixed"][k] for r in results.values() for k in
             ("patch_alone", "get_alone", "patch_together", "get_together")]
    runs += [run for r in results.values() if r.get("scale_out")
             for run in r["scale_out"].values() if isinstance(run, dict)]
    if any(run["non_2xx"] or run.get("rejected") for run in runs):
        lines += ["", "**Some requests failed (non-2xx, or refused in the OCPI envelope): "
                  "the figures are not valid.**"]
    return "\n".join(lines)


def scale_out_report(backend: str, r: dict[str, Any]) -> str:
    """Two API processes and an outbox process beside the one-process figures."""
    so = r["scale_out"]

    def cell(run: dict[str, Any]) -> str:
        bad = run["non_2xx"] + run.get("rejected", 0)
        return f"{run['rps']:,}/s, p99 {run['p99_ms']} ms, {bad} non-2xx"

    lines = [f"Scale-out ({backend}): `ocpi serve --workers 2` and one `ocpi outbox work`.",
             "", "| workload | one process | two workers |", "|---|---|---|",
             f"| PUT Session (one: 32 conn., two: 64 conn.) | {r['put_session']['rps']:,}/s | "
             f"{cell(so['put_session_64'])} |",
             f"| PATCH EVSE status | {r['patch_evse']['rps']:,}/s | {cell(so['patch_evse'])} |",
             f"| GET 50 Locations | {r['get_first_page']['rps']:,}/s | "
             f"{cell(so['get_first_page'])} |",
             f"| own EVSE PATCH, pushed (16 conn.) | {r['mixed']['patch_alone']['rps']:,}/s "
             f"(8 conn.) | {cell(so['own_patch_pushed'])}; the outbox process had "
             f"{so['queue_left_at_end']:,} left at the end, empty {so['queue_emptied_after_s']} s "
             "later |"]
    return "\n".join(lines)


def capacity(results: dict[str, Any]) -> str:
    """The capacity model's inputs (CPU per request in the node and in PostgreSQL,
    measured with one process) and its prediction for the two-worker run of the same
    machine, beside what that run measured."""
    r = results.get("postgresql")
    if not r or not r.get("scale_out"):
        return "(no PostgreSQL scale-out run)"
    cores = os.cpu_count() or 1
    lines = ["| PostgreSQL, per request | node CPU | PostgreSQL CPU | load generator CPU "
             "| one API core carries | one PostgreSQL core carries "
             "| predicted, 2 workers here | measured, 2 workers | off by |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, label, two in (("put_session", "PUT Session", "put_session_64"),
                            ("patch_evse", "PATCH EVSE status", "patch_evse"),
                            ("get_first_page", "GET 50 Locations", "get_first_page")):
        one = r[key]
        node, pg, gen = one["node_cpu_ms"], one["pg_cpu_ms"], one["wrk_cpu_ms"]
        # two API processes: at most two cores of node work, and the machine's cores
        # shared by the node, PostgreSQL and the load generator
        predicted = min(2 * 1000 / node, cores * 1000 / (node + pg + gen))
        measured = r["scale_out"][two]["rps"]
        lines.append(f"| {label} | {node:.2f} ms | {pg:.2f} ms | {gen:.2f} ms "
                     f"| {1000 / node:,.0f}/s | {1000 / pg:,.0f}/s | {predicted:,.0f}/s "
                     f"| {measured:,}/s | {(measured - predicted) / predicted:+.0%} |")
    return "\n".join(lines)


def per_worker(results: dict[str, Any]) -> str:
    """The deployment guide's figures: what one process does, per backend."""
    lines = ["| one process | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for key, label in (("put_session", "PUT Session"), ("patch_evse", "PATCH EVSE status"),
                       ("get_first_page", "GET 50 Locations")):
        lines.append(f"| {label} | " + " | ".join(
            f"{r[key]['rps']:,}/s" for r in results.values()) + " |")
    lines.append("| outbox drain (10 partners) | " + " | ".join(
        f"{r['outbox_drain']['per_s']:,} msg/s" for r in results.values()) + " |")
    return "\n".join(lines)


def _replace(path: Path, name: str, text: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    content = path.read_text()
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def write_docs(text: str, results: dict[str, Any]) -> None:
    _replace(ROOT / "docs" / "benchmarks.md", "bench", text)
    _replace(ROOT / "docs" / "deployment.md", "deploy", per_worker(results))
    _replace(ROOT / "docs" / "deployment.md", "capacity", capacity(results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--locations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=10, help="eMSPs the backlog is for")
    parser.add_argument("--cdr-sessions", type=int, default=1000,
                        help="sessions completed for the CDR generation cost")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs")
    parser.add_argument("--no-scale-out", dest="scale_out", action="store_false",
                        help="leave out the PostgreSQL run with two workers")
    args = parser.parse_args()
    args.wrk = ensure_wrk()
    os.environ.setdefault("OCPI_ALLOW_INSECURE_PARTNERS", "1")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            results[backend] = run_backend(args, backend, Path(tmp))
    print("pricing engine ...", flush=True)
    results_pricing["pricing"] = bench_pricing(5.0)
    (HERE / "last_run.json").write_text(json.dumps({**results, **results_pricing}, indent=1))
    text = report(results, args)
    print(text)
    print(capacity(results))
    if not args.no_docs:
        write_docs(text, results)


if __name__ == "__main__":
    main()
