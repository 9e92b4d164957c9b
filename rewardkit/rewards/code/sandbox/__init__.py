"""The local sandbox: programs run on this machine, and nothing inside a program's process decides its score.

What runs where
---------------
- The scorer (`client.py`) keeps one fork server per slot (`server.py`), started as ``python -I -S`` (no
  ``site``: no .pth file of site-packages runs in it) inside bubblewrap when installed. At start the
  server isolates itself (`host.py`): new mount, network, IPC, UTS and pid namespaces (it is pid 1 of its
  own; a user namespace first when not root), /proc remounted, a size- and inode-limited tmpfs over its
  scratch area, a pids cgroup it joins (so every process it forks is born in it).
- stdin/stdout runs (Python or a compiled C++ binary): one fork per run, locked down (`child.py`), runs the
  program; the grader compares its stdout and exit status in the scorer, as judges do.
- call-based runs (HumanEval ``check(candidate)``, MBPP asserts and setup code, APPS ``fn_name``): two forks.
  The **judge**, forked first, reads the test half of the request straight from the scorer's pipe (so the
  server, and the candidate forked from the server, never hold the tests), locks itself down in a
  Landlock domain of its own, and runs the tests (`judge.py`) with each of the solution's names bound to
  a proxy. The **candidate** process runs the solution and answers calls (`candidate.py`). The judge's
  report (one verdict per test) goes to the server on a file only the two of them hold. Both are fresh
  forks for every run: a judge kept from run to run would carry what a candidate can steer (modules its
  names made the judge import, memory it made it allocate, CPU time against its limit) into the next
  run's verdict.

What crosses
------------
Only `wire` frames on two pipes: the judge sends ``("call", name or handle, args, kwargs)``, the candidate
answers ``("ok", value)`` or ``("raise", name, message)``. `wire.encode` takes exact built-in types only
(``type(x) is ...``), bounded in items, depth and bytes; anything else is refused, or stays behind as an
opaque numbered handle. The judge decodes with `wire.decode`, which builds fresh built-in values from
JSON whose only objects are one-key tags, and refuses everything else.

Why it cannot be forged
-----------------------
The verdict is computed in the judge, from values that are plain data by construction: there is no
``__eq__``, ``__sub__``, subclass or ctypes-patched type of the candidate's on the judge's side to lie in
a comparison, no token to find by walking frames, no harness or builtins to patch (they live in another
process), no test code to read (never in the candidate's memory). The candidate's names never shadow the
builtins or the tests' own names, and modules it imported are the judge's own imports. A candidate that
ends, hangs, breaks the protocol or sends garbage fails every test of its run; one that brings its fork
server down is scored 0, not masked as an infrastructure error.

Host containment (each layer holds on its own; what took effect is recorded in every score)
-------------------------------------------------------------------------------------------
Landlock (read-only system paths, write only the run's scratch, no TCP; ABI >= 6: no signals or abstract
unix sockets out of the domain), seccomp (no fork or exec, no sockets at all, no ``kill``/``prlimit``/
scheduling/ptrace on any process but itself), pid and network namespaces (no host process or socket to
reach), rlimits (CPU, address space, file size, open files, no core) re-applied to every run, the pids
cgroup (threads and processes, the server's and the judge's counted too; RLIMIT_NPROC does not bind
root; no run can leave it, cgroupfs is not writable under Landlock), the scratch quota, a wall-clock backstop
per run (and a row whose run slept past it skips its other runs), every capability dropped as root.
After each run the server kills everything in its pid namespace and empties the scratch directory (one per
server, so that the Landlock rulesets are built once; a directory that cannot be emptied is replaced, so no
file of one run reaches the next); the judge's ruleset has no scratch at all. Scratch trees and cgroups of
scorers killed before cleaning up are swept when the next one starts.
"""
