"""Run the CLI and GUI flows with the network blocked, and report every attempt to use it.

Three layers, strongest last:

* Python: an audit hook (``sys.addaudithook``) refuses and records socket creation for the internet
  families, ``connect``, ``bind``, ``sendto``/``sendmsg`` and name lookups (``getaddrinfo`` etc.) from
  any Python code, our own or a library's.
* Native: when ``strace`` is installed, the child runs under it and every ``socket``/``connect``/
  ``sendto`` system call is logged, so native runtimes (ONNX Runtime, OpenVINO, LiteRT, Qt) are covered.
* Isolation: when ``unshare -n`` works (Linux, root or user namespaces), the child runs in a network
  namespace with no interface up, so nothing could be reached even if it tried.

``python -m tests.reliability.offline [--flows cli,backends,gui] [--no-strace]`` runs it by hand; the test
is tests/reliability/test_offline.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_INET = {int(socket.AF_INET), int(socket.AF_INET6)}
_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
           "socket.gethostbyname", "socket.gethostbyaddr", "socket.gethostbyname_ex", "socket.getnameinfo",
           "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"}


class NetworkBlocked(PermissionError):
    pass


def block_network(attempts: list[str], local: list[str]) -> None:
    """Install the audit hook (it cannot be removed: use in a child process only).

    Refused and recorded in ``attempts``: connect, send, name lookups, URL/HTTP/FTP/SMTP opens, and binding
    to anything but loopback. Allowed but recorded in ``local``: creating an internet-family socket and
    binding it to loopback (urllib3 probes IPv6 support at import that way; it never leaves the machine).
    """

    def hook(event: str, args: tuple) -> None:
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if family is not None and int(family) in _INET:
                local.append(f"socket family={int(family)} from {_caller()}")
        elif event == "socket.bind" and _loopback(args[1] if len(args) > 1 else None):
            local.append(f"bind {args[1]!r} from {_caller()}")
        elif event in _EVENTS:
            attempts.append(f"{event} {args[1:] if event.startswith('socket.') else args}"[:200]
                            + f" from {_caller()}")
            raise NetworkBlocked(f"network blocked by the offline check: {event}")

    sys.addaudithook(hook)


def _loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) and address else address
    return host in ("::1", "127.0.0.1", "localhost") or (isinstance(host, str) and host.startswith("127."))


def _caller() -> str:
    """Where the attempt came from: the innermost frames outside this module, outermost first."""
    import traceback

    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.endswith("offline.py")]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-4:]))


# -- flows (run inside the child) --------------------------------------------------------------------
def flow_cli(out: Path) -> dict:
    from inference.assets import SAMPLE_PATIENT
    from inference.cli import main

    codes = {"predict": main(["predict", str(SAMPLE_PATIENT), "--out", str(out / "cli")]),
             "inspect": main(["inspect", str(SAMPLE_PATIENT)]),
             "self-test": main(["self-test"])}
    return {"exit_codes": codes, "outputs": sorted(p.name for p in (out / "cli").rglob("*") if p.is_file())}


def flow_backends(out: Path) -> dict:
    """Start every CPU runtime explicitly (auto stops at the first that works): ORT, OpenVINO, LiteRT."""
    from inference.backends import select_backend

    started = {}
    for name in ("onnx", "openvino", "tflite-int8", "tflite-fp32", "auto"):  # openvino: int8 IR where VNNI, else onnx
        backend, _ = select_backend(name)
        started[name] = backend.describe().get("runtime")
        backend.close()
    return {"started": started}


def flow_gui(out: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from desktop.qt_compat import guard

    guard()
    from inference.assets import SAMPLE_PATIENT
    from tests.desktop.conftest import close_window, make_window, wait_job

    window = make_window(out / "userdata", None)
    try:
        steps = []
        window.open_patient(SAMPLE_PATIENT)
        steps.append(wait_job(window))
        window.session.set_clinical({"age": 61.0, "sex": "M", "ct_stage": "T2", "cn_status": 0, "doi_mm": "auto"})
        window.segment()
        steps.append(wait_job(window))
        window.export(out / "gui")
        steps.append(wait_job(window))
        window.close_patient()
        reports = [str(r.message if hasattr(r, "message") else r) for r in window.presenter.reports]
    finally:
        close_window(window)
    return {"steps": steps, "error_reports": reports,
            "outputs": sorted(p.name for p in (out / "gui").rglob("*") if p.is_file())}


def flow_canary(out: Path) -> dict:
    """Deliberate attempts, to prove the check sees them (the test expects exactly these to be recorded)."""
    import urllib.request

    outcomes = {}
    for name, attempt in (("getaddrinfo", lambda: socket.getaddrinfo("example.org", 443)),
                          ("connect", lambda: socket.create_connection(("192.0.2.1", 9), timeout=1)),
                          ("urlopen", lambda: urllib.request.urlopen("http://192.0.2.1/", timeout=1))):
        try:
            attempt()
            outcomes[name] = "not blocked"
        except NetworkBlocked:
            outcomes[name] = "blocked"
        except OSError as exc:  # urllib wraps the refusal
            outcomes[name] = "blocked" if "offline check" in str(exc) else f"{type(exc).__name__}: {exc}"
    return {"outcomes": outcomes}


FLOWS = {"cli": flow_cli, "backends": flow_backends, "gui": flow_gui, "canary": flow_canary}


def _child(flows: str, out: str, report: str) -> None:
    attempts: list[str] = []
    local: list[str] = []
    block_network(attempts, local)
    result: dict = {"flows": {}}
    for name in flows.split(","):
        try:
            result["flows"][name] = FLOWS[name](Path(out))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
            result["flows"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    result["python_attempts"] = attempts
    result["python_local_sockets"] = local
    Path(report).write_text(json.dumps(result))


# -- parent ------------------------------------------------------------------------------------------
def namespace_available() -> bool:
    if not shutil.which("unshare"):
        return False
    for cmd in (["unshare", "-n", "true"], ["unshare", "-r", "-n", "true"]):
        if subprocess.run(cmd, capture_output=True, check=False).returncode == 0:
            return True
    return False


def _unshare_prefix() -> list[str]:
    for cmd in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        if subprocess.run([*cmd, "true"], capture_output=True, check=False).returncode == 0:
            return cmd
    return []


def run_offline(flows: str = "cli,backends,gui", *, use_strace: bool = True, isolate: bool = True,
                timeout: float = 900) -> dict:
    """Run ``flows`` in a child with the network blocked; returns what each flow did and every attempt."""
    work = Path(tempfile.mkdtemp(prefix="otscc-offline-"))
    report, trace = work / "report.json", work / "strace.txt"
    code = "import sys; from tests.reliability.offline import _child; _child(*sys.argv[1:])"
    cmd = [sys.executable, "-c", code, flows, str(work / "out"), str(report)]
    layers = ["python audit hook"]
    strace = shutil.which("strace") if use_strace else None
    if strace:
        cmd = [strace, "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace), *cmd]
        layers.append("strace")
    prefix = _unshare_prefix() if isolate else []
    if prefix:
        layers.append("network namespace (" + " ".join(prefix) + ")")
    env = {**os.environ, "OTSCC_EDGE_DATA_DIR": str(work / "userdata"), "QT_QPA_PLATFORM": "offscreen",
           **({"LD_PRELOAD": os.environ["OFFLINE_PRELOAD"]} if os.environ.get("OFFLINE_PRELOAD") else {})}
    try:
        done = subprocess.run([*prefix, *cmd], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if not report.is_file():
            raise RuntimeError(f"offline child failed (exit {done.returncode}): {done.stderr[-3000:]}")
        result = json.loads(report.read_text())
        result["layers"] = layers
        result["exit_code"] = done.returncode
        result["native_calls"] = parse_strace(trace.read_text()) if trace.is_file() else None
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


_SOCKET = re.compile(r"socket\((AF_\w+|\d+)")
_CONNECT = re.compile(r"(connect|sendto|sendmsg)\(\d+, \{sa_family=(AF_\w+)(.*?)\}")


def parse_strace(text: str) -> dict:
    """Network system calls in an strace log: internet sockets created and every connect/send with an address."""
    inet_sockets, addressed, unix = [], [], []
    for line in text.splitlines():
        if (m := _SOCKET.search(line)) and m.group(1) in ("AF_INET", "AF_INET6"):
            inet_sockets.append(line.strip()[:200])
        if m := _CONNECT.search(line):
            (unix if m.group(2) in ("AF_UNIX", "AF_LOCAL", "AF_NETLINK") else addressed).append(line.strip()[:200])
    return {"inet_sockets": inet_sockets, "inet_connects": addressed, "local_connects": unix}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.offline")
    parser.add_argument("--flows", default="cli,backends,gui")
    parser.add_argument("--no-strace", action="store_true")
    parser.add_argument("--no-namespace", action="store_true")
    args = parser.parse_args(argv)
    result = run_offline(args.flows, use_strace=not args.no_strace, isolate=not args.no_namespace)
    print(json.dumps(result, indent=1))
    return 0 if not problems(result) else 1


def problems(result: dict) -> list[str]:
    """Why a run is not clean: any refused Python attempt, any native connect/send to a network address, or
    more native internet sockets than the loopback probes Python recorded."""
    out = [f"python: {a}" for a in result["python_attempts"]]
    native = result["native_calls"] or {}
    out += [f"native: {c}" for c in native.get("inet_connects", [])]
    probes = sum(1 for x in result["python_local_sockets"] if x.startswith("socket "))
    if len(native.get("inet_sockets", [])) > probes:
        out.append(f"native: {len(native['inet_sockets'])} internet sockets created, {probes} explained by "
                   f"Python loopback probes: {native['inet_sockets'][:3]}")
    return out


if __name__ == "__main__":
    sys.exit(main())
