# ruff: noqa: E501  (attack programs read best on one line each)
"""Written as the attacker who has read our source: one table per family of issue #12.

Every attack would score 1.0 against a harness that runs the tests in the program's process (or that
lets the program reach the host); here each must score 0 with status ok or timeout, and afterwards the
scorer must be alive and the next rows (on every slot) must score exactly as they should.
"""

from __future__ import annotations

from typing import Any

import pytest

from rewardkit.params import build_params
from rewardkit.rewards.code import CodeParams, score_batch
from rewardkit.types import Sample, Score, Status

from .conftest import needs_isolation

pytestmark = needs_isolation

HE = {"test": "def check(candidate):\n    assert candidate(2) == 4\n    assert abs(candidate(3) - 9) < 1e-6\n    assert round(candidate(1), 2) == 1\n",
      "entry_point": "sq"}  # fmt: skip
MBPP = {"test_list": ["assert sq(2) == 4", "assert sq(3) == 9", "assert math.isclose(sq(1), 1)"]}
APPS = {"input_output": {"inputs": [[2], [3]], "outputs": [4, 9], "fn_name": "sq"}}
STDIO = {"tests": [{"input": "2\n", "output": "4\n"}, {"input": "3\n", "output": "9\n"}]}
ROWS = {"humaneval": HE, "mbpp": MBPP, "apps": APPS}
GOOD = "import math\ndef sq(x):\n    return x * x"


def _score(rows: list[tuple[str, dict[str, Any]]], **params: Any) -> list[Score]:
    settings = {"cpu_s": 1.0, "slots": 2, **params}
    samples = [Sample(f"```{settings.get('language', 'python')}\n{code}\n```", columns=cols) for code, cols in rows]
    return score_batch(samples, build_params("code", CodeParams, settings))


def _innocents_unaffected() -> None:
    """Both slots, every format: right answers score 1, a wrong one 0, nothing is null."""
    rows = [(GOOD, HE), (GOOD, MBPP), (GOOD, APPS), ("n = int(input())\nprint(n * n)", STDIO)] * 2
    rows += [("def sq(x):\n    return x + 2", HE)]
    values = [(s.value, s.status) for s in _score(rows)]
    assert values == [(1.0, Status.OK)] * 8 + [(0.0, Status.OK)], values


def _assert_zero(code: str, row: dict[str, Any], **params: Any) -> Score:
    result = _score([(code, row)], **params)[0]
    assert result.value == 0.0, result.reason
    assert result.status in (Status.OK, Status.TIMEOUT), result.reason
    _innocents_unaffected()
    return result


@pytest.mark.parametrize("fmt", sorted(ROWS))
def test_the_control_passes(fmt: str) -> None:
    assert _score([(GOOD, ROWS[fmt])])[0].value == 1.0


# --- forged success: tokens and results written from the program's process -----------------------
FORGERY = [
    # walk every frame for a token-like string, then write a pass on every descriptor and leave
    ("frame walk", "import sys, os, json\nf = sys._getframe()\nfound = []\nwhile f:\n    found += [v for v in f.f_locals.values() if isinstance(v, str) and len(v) == 32]\n    f = f.f_back\nfor t in found:\n    for fd in range(3, 64):\n        try: os.write(fd, (t + '\\n' + json.dumps([True, True, True])).encode())\n        except OSError: pass\nos._exit(0)"),
    ("current frames and gc", "import sys, gc, os\ncands = [o for o in gc.get_objects() if isinstance(o, dict) and 'token' in o]\ncands += [fr.f_locals for fr in sys._current_frames().values()]\nfor fd in range(3, 64):\n    try: os.write(fd, b'ok')\n    except OSError: pass\nos._exit(0)"),
    ("forged judge report on every fd", "import os, json\nrep = json.dumps({'passed': [True] * 3, 'gone': False, 'results': [{'ok': True, 'value': 4}]}).encode()\nfor fd in range(0, 64):\n    try: os.write(fd, rep)\n    except OSError: pass\nos._exit(0)"),
    ("forged answer frames", "import os, struct\nframe = b'[\"ok\",true]'\nfor fd in range(3, 64):\n    try: os.write(fd, struct.pack('>I', len(frame)) + frame)\n    except OSError: pass\ndef sq(x):\n    return None"),
    ("audit hook and thread", "import sys, threading, os\nsys.addaudithook(lambda *a: None)\nthreading.Thread(target=lambda: os._exit(0)).start()\ndef sq(x):\n    os._exit(0)"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(ROWS))
@pytest.mark.parametrize(("name", "code"), FORGERY, ids=[f[0] for f in FORGERY])
def test_forgery(name: str, code: str, fmt: str) -> None:
    _assert_zero(code, ROWS[fmt])


# --- harness patching: whatever the program replaces lives in its own process ---------------------
PATCHING = [
    ("patch the judge's module in its own copy", "import sys\nfor m in list(sys.modules.values()):\n    if getattr(m, '__name__', '').endswith('judge'):\n        m.run_tests = lambda *a, **k: ([True] * 3, False, '')\n        m.run_call = lambda *a, **k: {'ok': True, 'value': 4}\ndef sq(x):\n    return 0"),
    ("patch wire and json", "import sys, json\nfor m in list(sys.modules.values()):\n    if getattr(m, '__name__', '').endswith('wire'):\n        m.decode = lambda *a, **k: ('ok', 4)\njson.loads = lambda *a, **k: {'passed': [True] * 3}\ndef sq(x):\n    return 0"),
    ("replace builtins and AssertionError", "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a: 1\ndef sq(x):\n    return 0"),
    ("shadow builtins by name", "def abs(x):\n    return 0\ndef round(*a):\n    return 1\nclass math:\n    @staticmethod\n    def isclose(*a, **k):\n        return True\ndef sq(x):\n    return 0"),
    ("replace FunctionType and the test list", "import types, gc\ntypes.FunctionType = object\nfor o in gc.get_objects():\n    if isinstance(o, list) and o and isinstance(o[0], str) and 'assert' in o[0]:\n        o[:] = ['pass'] * len(o)\ndef sq(x):\n    return 0"),
    ("settrace skips the asserts", "import sys\nsys.settrace(lambda *a: None)\nsys.setprofile(lambda *a: None)\ndef sq(x):\n    return 0"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(ROWS))
@pytest.mark.parametrize(("name", "code"), PATCHING, ids=[p[0] for p in PATCHING])
def test_patching(name: str, code: str, fmt: str) -> None:
    _assert_zero(code, ROWS[fmt])


SHADOWED = {"test_list": ["assert abs(sq(3) - 9) < 1e-6", "assert round(sq(1), 2) == 1", "assert math.isclose(sq(2), 4)"]}
SHADOWED_HE = {"test": "import math\ndef check(candidate):\n    assert abs(candidate(3) - 9) < 1e-6\n    assert math.isclose(candidate(2), 4)\n",
               "entry_point": "sq"}  # fmt: skip


@pytest.mark.parametrize("row", [SHADOWED, SHADOWED_HE], ids=["mbpp", "humaneval"])
def test_shadowing_the_tests_helpers(row: dict[str, Any]) -> None:
    """The program's names never replace the builtins or modules the tests use to check it."""
    code = PATCHING[3][1] + "\nimport sys\nmath = sys"
    _assert_zero(code, row)
    assert _score([(GOOD, row)])[0].value == 1.0


# --- entry points that are not plain functions, returning objects that equal anything ------------
EQ = "class E:\n    def __eq__(s, o): return True\n    def __ne__(s, o): return False\n    def __sub__(s, o): return 0\n    def __rsub__(s, o): return 0\n    def __round__(s, *a): return s\n    def __abs__(s): return 0\n    def __lt__(s, o): return True\n    def __bool__(s): return True\n"
CALLABLES = [
    ("lru_cache", EQ + "import functools\n@functools.lru_cache(None)\ndef sq(x):\n    return E()"),
    ("partial", EQ + "import functools\nsq = functools.partial(lambda x: E())"),
    ("staticmethod", EQ + "sq = staticmethod(lambda x: E())"),
    ("callable instance", EQ + "class C:\n    def __call__(s, x): return E()\nsq = C()"),
    ("class as entry point", EQ + "class sq:\n    def __new__(cls, x): return E()"),
    ("class Solution", EQ + "class Solution:\n    def sq(self, x): return E()"),
    ("wrapped object", EQ + "import functools\nclass C:\n    def __call__(s, x): return E()\nsq = functools.wraps(lambda x: x)(C())"),
    ("property on a module-level object", EQ + "class M:\n    @property\n    def sq(s): return lambda x: E()\nsq = M().sq"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(ROWS))
@pytest.mark.parametrize(("name", "code"), CALLABLES, ids=[c[0] for c in CALLABLES])
def test_unguarded_callables(name: str, code: str, fmt: str) -> None:
    _assert_zero(code, ROWS[fmt])


# --- values that are not data ---------------------------------------------------------------------
VALUES = [
    ("__eq__ always true", EQ + "def sq(x):\n    return E()"),
    ("int subclass", "class I(int):\n    def __eq__(s, o): return True\n    def __sub__(s, o): return 0\n    __hash__ = int.__hash__\ndef sq(x):\n    return I(0)"),
    ("str subclass", "class S(str):\n    def __eq__(s, o): return True\n    __hash__ = str.__hash__\ndef sq(x):\n    return S('')"),
    ("list subclass", "class L(list):\n    def __eq__(s, o): return True\ndef sq(x):\n    return L()"),
    ("float subclass with __round__", "class F(float):\n    def __round__(s, *a): return 1\n    def __sub__(s, o): return 0.0\n    def __eq__(s, o): return True\n    __hash__ = float.__hash__\ndef sq(x):\n    return F(0.5)"),
    ("__getitem__ returning equal objects", EQ + "class G:\n    def __getitem__(s, i): return E()\n    def __len__(s): return 3\ndef sq(x):\n    return G()"),
    ("ctypes rewrites the expected ints", "import ctypes\nfor n in (4, 9):\n    ctypes.c_uint32.from_address(id(n) + 24).value = 5\ndef sq(x):\n    return 5"),
    ("ctypes rewrites True and 1", "import ctypes\nctypes.c_uint32.from_address(id(1) + 24).value = 7\ndef sq(x):\n    return 7"),
    ("generator and iterator", "def sq(x):\n    yield x * x"),
    ("recursive list", "def sq(x):\n    a = []\n    a.append(a)\n    return a"),
    ("huge nested data", "def sq(x):\n    a = 0\n    for _ in range(100000):\n        a = [a]\n    return a"),
    ("numpy-like duck", EQ + "class A:\n    def __array__(s): return [4]\n    def tolist(s): return 4\n    __eq__ = E.__eq__\ndef sq(x):\n    return A()"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(ROWS))
@pytest.mark.parametrize(("name", "code"), VALUES, ids=[v[0] for v in VALUES])
def test_values_that_are_not_data(name: str, code: str, fmt: str) -> None:
    _assert_zero(code, ROWS[fmt])


# --- reading the tests: they are never in the program's memory --------------------------------------
READING = [
    ("gc scan for the asserts", "import gc, re\nfound = {}\nfor o in gc.get_objects():\n    for s in ([o] if isinstance(o, str) else list(o.values()) if isinstance(o, dict) else []):\n        if isinstance(s, str):\n            for a, b in re.findall(r'(?:candidate|sq)\\((\\d+)\\)\\s*==\\s*(\\d+)', s):\n                found[int(a)] = int(b)\ndef sq(x):\n    return found.get(x)"),
    ("walk every module's globals", "import sys, re\nfound = {}\nfor m in list(sys.modules.values()):\n    for v in list(getattr(m, '__dict__', {}).values()):\n        for a, b in re.findall(r'(?:candidate|sq)\\((\\d+)\\)\\s*==\\s*(\\d+)', repr(v)[:100000]):\n            found[int(a)] = int(b)\ndef sq(x):\n    return found.get(x)"),
    ("read the request from stdin and fds", "import os, re\nfound = {}\nfor fd in range(0, 64):\n    try: data = os.read(fd, 1 << 20).decode(errors='replace')\n    except OSError: continue\n    for a, b in re.findall(r'(?:candidate|sq)\\((\\d+)\\)\\s*==\\s*(\\d+)', data):\n        found[int(a)] = int(b)\ndef sq(x):\n    return found.get(x)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "code"), READING, ids=[r[0] for r in READING])
def test_reading_the_tests(name: str, code: str) -> None:
    # an earlier row with the same tests ran in the same fork server: its text is not here either
    assert _score([(GOOD, HE), (GOOD, MBPP)])[0].value == 1.0
    for row in (HE, MBPP):
        _assert_zero(code, row)
