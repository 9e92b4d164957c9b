"""The seccomp filter the fork server builds ahead (`seccomp.prepare`) is, once a child writes its pid in,
instruction for instruction the filter built from scratch for that pid: the shortcut changes no rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rewardkit.rewards.code.sandbox import seccomp


@given(st.integers(min_value=1, max_value=2**22))
def test_the_prepared_filter_is_the_filter_for_that_pid(pid: int) -> None:
    seccomp.prepare()
    prepared = seccomp._prepared
    assert prepared is not None
    prepared.set_pid(pid)  # what `install` does in each child
    assert [(i.code, i.jt, i.jf, i.k) for i in prepared.array] == seccomp._program(pid, None)
