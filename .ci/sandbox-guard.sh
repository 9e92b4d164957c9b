#!/usr/bin/env bash
# Run a command (the hostile-program suite) inside a pids + memory cgroup, so a sandbox regression
# (a fork bomb, a runaway allocation) hits the cgroup's limits instead of taking the CI machine down.
#
#   .ci/sandbox-guard.sh python -m pytest tests/rewards/code -q
#
# Works as root on cgroup v2 (unified) and v1/hybrid hierarchies (Debian 12 VMs, GitHub runners). When
# no cgroup is writable it says so and still runs the command, under a wall-clock timeout. Afterwards
# it kills anything the command left in the cgroup and fails if there was anything.
#
# Settings (environment): RK_GUARD_PIDS (default 4096), RK_GUARD_MEM_MB (default 75% of RAM),
# RK_GUARD_TIMEOUT seconds (default 1800).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]   (runs COMMAND inside a pids/memory cgroup)" >&2
    exit 2
fi

PIDS_MAX="${RK_GUARD_PIDS:-4096}"
MEM_MB="${RK_GUARD_MEM_MB:-$(awk '/MemTotal/ {printf "%d", $2 * 0.75 / 1024}' /proc/meminfo)}"
TIMEOUT="${RK_GUARD_TIMEOUT:-1800}"
NAME="rewardkit-guard-$$"
ROOT=/sys/fs/cgroup
CGROUPS=()   # every cgroup directory created, to join, inspect and remove

log() { echo "sandbox-guard: $*" >&2; }
# Processes in a cgroup and in the cgroups below it (the code sandbox nests one per fork server).
procs() { cat "$1/cgroup.procs" "$1"/*/cgroup.procs 2>/dev/null || true; }

make_v2() {
    [ -f "$ROOT/cgroup.controllers" ] || return 1
    grep -qw pids "$ROOT/cgroup.controllers" && grep -qw memory "$ROOT/cgroup.controllers" || return 1
    # Controllers must be enabled for children of the root; harmless when they already are.
    echo "+pids +memory" > "$ROOT/cgroup.subtree_control" 2>/dev/null || true
    mkdir "$ROOT/$NAME" 2>/dev/null || return 1
    CGROUPS+=("$ROOT/$NAME")
    echo "$PIDS_MAX" > "$ROOT/$NAME/pids.max" && echo "$((MEM_MB * 1024 * 1024))" > "$ROOT/$NAME/memory.max" \
        && echo 0 > "$ROOT/$NAME/memory.swap.max" 2>/dev/null || true
    [ "$(cat "$ROOT/$NAME/pids.max")" = "$PIDS_MAX" ]
}

make_v1() {
    [ -d "$ROOT/pids" ] && [ -d "$ROOT/memory" ] || return 1
    mkdir "$ROOT/pids/$NAME" "$ROOT/memory/$NAME" 2>/dev/null || return 1
    CGROUPS+=("$ROOT/pids/$NAME" "$ROOT/memory/$NAME")
    echo "$PIDS_MAX" > "$ROOT/pids/$NAME/pids.max" || return 1
    echo "$((MEM_MB * 1024 * 1024))" > "$ROOT/memory/$NAME/memory.limit_in_bytes" || return 1
}

cleanup() {
    local left=0 dir pid
    for dir in "${CGROUPS[@]}"; do
        # Grace period: helpers whose parent just exited (multiprocessing's forkserver and resource tracker,
        # Ray's daemons) notice it and leave on their own within moments; only what stays is a leak.
        for _ in $(seq 25); do
            [ -n "$(procs "$dir" | grep -vx "$$")" ] || break
            sleep 0.2
        done
        for _ in 1 2 3 4 5; do
            [ -n "$(procs "$dir")" ] || break  # cgroupfs files report size 0: no -s
            while read -r pid; do
                [ "$pid" = "$$" ] && continue
                left=1
                log "left running after the command: pid $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | head -c 120))"
                kill -KILL "$pid" 2>/dev/null || true
            done < <(procs "$dir")
            sleep 0.2
        done
    done
    for dir in "${CGROUPS[@]}"; do
        [ -f "$dir/pids.events" ] && log "$(basename "$(dirname "$dir")")/pids.events: $(tr '\n' ' ' < "$dir/pids.events")"
        [ -f "$dir/memory.failcnt" ] && log "memory.failcnt: $(cat "$dir/memory.failcnt")"
        [ -f "$dir/memory.events" ] && log "memory.events: $(tr '\n' ' ' < "$dir/memory.events")"
    done
    return "$left"
}

remove_cgroups() {
    local dir
    for dir in "${CGROUPS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do  # killed processes take a moment to leave
            # Nested cgroups a killed sandbox could not remove. `|| true`: under `set -e` a failed rmdir
            # (no nested cgroup: the glob stays literal) would end the script with status 1 after a green run.
            rmdir "$dir"/*/ 2>/dev/null || true
            if rmdir "$dir" 2>/dev/null; then break; fi
            sleep 0.2
        done
    done
}

guarded=0
if [ "$(id -u)" = 0 ] && { make_v2 || make_v1; }; then
    guarded=1
    log "pids.max=$PIDS_MAX memory=${MEM_MB}MiB in ${CGROUPS[*]}"
else
    remove_cgroups
    CGROUPS=()
    log "WARNING: no writable pids/memory cgroup (not root, or cgroupfs read-only); running unguarded with a ${TIMEOUT}s timeout"
fi

# The command runs in a child shell that first joins the cgroup(s), so this script stays outside
# and can clean up even if the command's tree is killed by the limits.
set +e
timeout --kill-after=10 "$TIMEOUT" bash -c '
    for dir in "$@"; do
        [ "$dir" = -- ] && break
        echo $$ > "$dir/cgroup.procs" || exit 97
    done
    while [ "$1" != -- ]; do shift; done
    shift
    exec "$@"
' guard "${CGROUPS[@]}" -- "$@"
status=$?
set -e
[ "$status" = 97 ] && log "could not join the cgroup" && exit 1
[ "$status" = 124 ] && log "the command ran past ${TIMEOUT}s and was killed"
if [ "$guarded" = 1 ]; then
    if ! cleanup; then
        log "FAIL: the command left processes running in the guard cgroup"
        [ "$status" = 0 ] && status=1
    fi
    remove_cgroups
fi
exit "$status"
