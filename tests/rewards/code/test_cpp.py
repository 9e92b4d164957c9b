# ruff: noqa: E501  (one C++ program per line reads best)
"""C++ through g++ behind the same interface: compiled once, run under the same sandbox."""

from __future__ import annotations

import shutil

import pytest

from rewardkit.types import Status

from .conftest import needs_isolation, score

pytestmark = [needs_isolation, pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")]

ROW = {"tests": [{"input": "3\n", "output": "9\n"}, {"input": "4\n", "output": "16\n"}]}
SQUARE = "#include <iostream>\nint main() { long long a; std::cin >> a; std::cout << a * a << std::endl; }"

CASES = [
    (SQUARE, 1.0),
    ("#include <iostream>\nint main() { std::cout << 9 << std::endl; }", 0.5),
    ("int main() { this is not C++ }", 0.0),  # a compile error is the program's fault
    # attacks: each prints the expected output only if it worked
    ('#include <unistd.h>\n#include <cstdio>\nint main() { if (fork() >= 0) printf("9\\n16\\n"); }', 0.0),
    ('#include <fstream>\n#include <cstdio>\nint main() { std::ifstream f("/etc/passwd"); if (f) printf("9\\n"); }',
     0.0),
    ('#include "/etc/passwd"\nint main() {}', 0.0),  # reading through the compiler
    ("int main() { for (;;) {} }", 0.0),
    ("#include <cstdlib>\n#include <cstring>\nint main() { char* p = (char*)malloc(20LL << 30); memset(p, 1, 20LL << 30); }",
     0.0),
    ('#include <unistd.h>\nint main() { execl("/bin/sh", "sh", "-c", "echo 9", (char*)0); }', 0.0),
]  # fmt: skip


@pytest.mark.parametrize(("code", "want"), CASES)
def test_cpp(code: str, want: float) -> None:
    result = score(f"{code}\n", ROW, language="cpp").value
    assert result == want


def test_cpp_block_is_found_among_python_blocks() -> None:
    from rewardkit.params import build_params
    from rewardkit.rewards.code import CodeParams, score_batch
    from rewardkit.types import Sample

    text = f"```python\nprint(9)\n```\n```cpp\n{SQUARE}\n```"
    params = build_params("code", CodeParams, {"language": "cpp"})
    result = score_batch([Sample(text, columns=ROW)], params)[0]
    assert (result.value, result.status) == (1.0, Status.OK)
