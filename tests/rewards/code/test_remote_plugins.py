# ruff: noqa: E501  (attack programs read best on one line each)
"""The SandboxFusion and Piston plugins against local HTTP servers that speak each API.

The fake services really run the program (plain subprocess: these are our own test programs), so the
whole path is exercised: the harness shipped as source, the token on stdin, grading, and the policy
that infrastructure failures are null while the program's own failures are 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rewardkit.params import build_params
from rewardkit.types import Sample, Status

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
for _name in ("rewardkit-sandboxfusion", "rewardkit-piston"):
    if str(PLUGINS / _name) not in sys.path:
        sys.path.insert(0, str(PLUGINS / _name))

pytest.importorskip("httpx")
import rewardkit_piston  # noqa: E402
import rewardkit_sandboxfusion  # noqa: E402


def _execute(code: str, stdin: str, timeout: float) -> dict[str, Any]:
    start = time.monotonic()
    try:
        done = subprocess.run([os.path.realpath(sys.executable), "-c", code], input=stdin, text=True,
                              capture_output=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"timeout": True, "stdout": "", "stderr": "", "code": None, "time": time.monotonic() - start}
    return {"timeout": False, "stdout": done.stdout, "stderr": done.stderr, "code": done.returncode,
            "time": time.monotonic() - start}  # fmt: skip


def sandboxfusion_answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = _execute(body["code"], body.get("stdin", ""), body["run_timeout"])
    status = "TimeLimitExceeded" if r["timeout"] else "Finished" if r["code"] == 0 else "Error"
    run = {"status": status, "return_code": r["code"], "stdout": r["stdout"], "stderr": r["stderr"],
           "execution_time": r["time"]}  # fmt: skip
    return 200, {"status": "Success" if status == "Finished" else "Failed", "message": "",
                 "compile_result": None, "run_result": run}  # fmt: skip


def piston_answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if body["language"] != "python":
        return 400, {"message": f"{body['language']}-{body['version']} runtime is unknown"}
    r = _execute(body["files"][0]["content"], body.get("stdin", ""), body["run_timeout"] / 1000)
    run = {"stdout": r["stdout"], "stderr": r["stderr"], "code": r["code"],
           "signal": "SIGKILL" if r["timeout"] else None}  # fmt: skip
    return 200, {"language": "python", "version": "3.11.0", "run": run}


class Service:
    """A threaded HTTP server on 127.0.0.1; ``drop`` requests are cut off before any answer."""

    def __init__(self, path: str, answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> None:
        self.drop, self.fail, self.calls, self.active, self.peak = 0, False, 0, 0, 0
        lock, service = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    service.calls += 1
                    service.active += 1
                    service.peak = max(service.peak, service.active)
                    dropping = service.drop > 0
                    service.drop -= dropping
                if dropping:
                    with lock:
                        service.active -= 1
                    self.connection.close()  # a transport error on the client side
                    return
                code, data = (500, {"message": "boom"}) if service.fail else answer(body)
                if self.path != path:
                    code, data = 404, {"message": "not found"}
                with lock:  # before answering: the client may send its next request at once
                    service.active -= 1
                raw = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


BACKENDS = {
    "sandboxfusion": ("/run_code", sandboxfusion_answer, rewardkit_sandboxfusion),
    "piston": ("/api/v2/execute", piston_answer, rewardkit_piston),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[Service, Any, str]]:
    path, answer, module = BACKENDS[request.param]
    service = Service(path, answer)
    yield service, module, request.param
    service.close()


Rows = list[tuple[str, dict[str, Any]]]


def _score(module: Any, name: str, url: str, rows: Rows, **extra: Any) -> list[Any]:
    registered: list[Any] = []
    module.register_rewards(registered.append)
    assert registered[0].name == f"code_{name}" and registered[0].batch_fn is not None
    settings = {"url": url, "retries": 2, "cpu_s": 2.0, **extra}
    params = build_params(registered[0].name, registered[0].params, settings)
    samples = [Sample(f"```python\n{code}\n```", columns=cols) for code, cols in rows]
    return list(registered[0].batch_fn(samples, params))


HE = {"test": "def check(candidate):\n    assert candidate(3) == 9\n", "entry_point": "sq"}
IO = {"tests": [{"input": "3\n", "output": "9\n"}]}
CALL = {"input_output": {"inputs": [[3]], "outputs": [9], "fn_name": "sq"}}


def test_grading_through_the_service(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    rows = [
        ("def sq(x):\n    return x * x", HE),
        ("def sq(x):\n    return None", HE),
        ("import os\nos._exit(0)", HE),  # an early clean exit proves nothing remotely either
        ("class A:\n    def __eq__(s, o): return True\ndef sq(x):\n    return A()", HE),
        ("print(int(input()) ** 2)", IO),
        ("print(9)\nraise SystemExit(1)", IO),
        ("def sq(x):\n    return x * x", CALL),
        ("print('noise')\ndef sq(x):\n    return x + 1", CALL),
    ]
    values = [s.value for s in _score(module, name, service.url, rows)]
    assert values == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_transport_errors_are_retried(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    service.drop = 2
    scores = _score(module, name, service.url, [("print(int(input()) ** 2)", IO)])
    assert scores[0].value == 1.0 and service.calls == 3


def test_answers_are_not_retried_and_score_null(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    service.fail = True
    scores = _score(module, name, service.url, [("print(9)", IO)])
    assert scores[0].value is None and scores[0].status is Status.ERROR
    assert service.calls == 1


def test_unreachable_service_scores_null(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    url = service.url
    service.close()
    scores = _score(module, name, url, [("print(9)", IO)], retries=1)
    assert scores[0].status is Status.ERROR and "unreachable" in scores[0].reason


def test_concurrency_is_bounded(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    rows = [("import time\ntime.sleep(0.05)\nprint(int(input()) ** 2)", IO)] * 12
    scores = _score(module, name, service.url, rows, concurrency=3)
    assert [s.value for s in scores] == [1.0] * 12
    assert service.peak <= 3


def test_plugins_register_through_entry_points_when_installed() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="rewardkit")}
    for plugin, reward in (("sandboxfusion", "code_sandboxfusion"), ("piston", "code_piston")):
        if plugin in names:
            from rewardkit import registry

            assert reward in registry.rewards()


# --- call-based grading remotely: the verdict is ours, from data the program printed ----------------
EQ = "class E:\n    def __eq__(s, o): return True\n    def __sub__(s, o): return 0\n    def __abs__(s): return 0\n"
REMOTE_ATTACKS = [
    EQ + "def sq(x):\n    return E()",
    "class I(int):\n    def __eq__(s, o): return True\n    __hash__ = int.__hash__\ndef sq(x):\n    return I(0)",
    "import ctypes\nctypes.c_uint32.from_address(id(9) + 24).value = 5\ndef sq(x):\n    return 5",
    "import sys\nprint('\\n--rewardkit-calls--\\n' + '{\"t\":[\"ready\",\"{\\\\\"d\\\\\":[]}\",[\"{\\\\\"t\\\\\":[\\\\\"ok\\\\\",true]}\"]]}')\nsys.exit(0)",
    "import gc, re\nfound = {int(a): int(b) for o in gc.get_objects() if isinstance(o, str) for a, b in re.findall(r'candidate\\((\\d+)\\) == (\\d+)', o)}\ndef sq(x):\n    return found.get(x)",
    "def abs(x):\n    return 0\ndef sq(x):\n    return 0",
    "import os\nos._exit(0)",
]  # fmt: skip
HE_ABS = {"test": "def check(candidate):\n    assert candidate(3) == 9\n    assert abs(candidate(2) - 4) < 1e-9\n",
          "entry_point": "sq"}  # fmt: skip


@pytest.mark.parametrize("code", REMOTE_ATTACKS, ids=range(len(REMOTE_ATTACKS)))
def test_remote_attacks_score_zero(backend: tuple[Service, Any, str], code: str) -> None:
    service, module, name = backend
    rows = [(code, HE_ABS), (code, CALL), (code, {"test_list": ["assert sq(3) == 9", "assert abs(sq(2) - 4) < 1e-9"]})]
    scores = _score(module, name, service.url, rows)
    assert [(s.value, s.status) for s in scores] == [(0.0, Status.OK)] * 3, [s.reason for s in scores]
    good = _score(module, name, service.url, [("def sq(x):\n    return x * x", HE_ABS)])
    assert good[0].value == 1.0


def test_tests_that_feed_answers_back_take_another_round(backend: tuple[Service, Any, str]) -> None:
    service, module, name = backend
    row = {"test": "def check(candidate):\n    r = candidate(3)\n    assert candidate(r) == 81\n    assert helper(r) == 10\n",
           "entry_point": "sq"}  # fmt: skip
    code = "def helper(y):\n    return y + 1\ndef sq(x):\n    return x * x"
    assert _score(module, name, service.url, [(code, row)])[0].value == 1.0
    assert _score(module, name, service.url, [(code.replace("x * x", "x + x"), row)])[0].value == 0.0


def test_the_tests_never_leave_this_machine(backend: tuple[Service, Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    service, module, name = backend
    sent: list[str] = []
    real = module.__dict__[{"sandboxfusion": "SandboxFusionExecutor", "piston": "PistonExecutor"}[name]].execute

    def spy(self: Any, client: Any, source: str, stdin: str, run: Any) -> Any:
        sent.append(source + stdin)
        return real(self, client, source, stdin, run)

    monkeypatch.setattr(module.__dict__[{"sandboxfusion": "SandboxFusionExecutor", "piston": "PistonExecutor"}[name]],
                        "execute", spy)  # fmt: skip
    row = {"test": "def check(candidate):\n    assert candidate(111) == 12321  # secret-marker\n", "entry_point": "sq"}
    assert _score(module, name, service.url, [("def sq(x):\n    return x * x", row)])[0].value == 1.0
    assert sent and not any("12321" in s or "secret-marker" in s for s in sent)
