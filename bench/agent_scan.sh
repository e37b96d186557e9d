#!/usr/bin/env bash
# bench/agent_scan.sh: the agent's footprint and network scan speed.
# Measures (with GNU time's maximum resident set size, i.e. VmHWM):
#   1. idle: `discover` with no source at all (the process, its libraries, the config);
#   2. a 254-host x 3-port connect scan of 127.0.1.0/24 (762 probes, all on loopback):
#      wall time and peak RSS;
#   3. baselines: `true`'s RSS, and the same scan one probe at a time over 127.0.1.0/28;
#   4. when the build has the daemon: `run` with no source, its RSS once settled.
# Targets (issue 5): idle under 8 MiB, the /24 scan under 2 s.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AGENT=$BUILD/bin/printmaster-agent
TIME=/usr/bin/time
[ -x "$AGENT" ] || { echo "agent_scan: build first (make)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "agent_scan: needs GNU time (apt-get install time)" >&2; exit 1; }
export PRINTMASTER_LOG_LEVEL=warn

# measure CMD...: prints "<max RSS KiB> <wall seconds>" (wall from the
# nanosecond clock; GNU time's own is only to 10 ms)
measure() {
	local out t0 t1
	out=$(mktemp)
	t0=$(date +%s%N)
	"$TIME" -f '%M' -o "$out" "$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo "$(tail -1 "$out") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
	rm -f "$out"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

read -r idle_kb _ < <(measure "$AGENT" discover --sources '')
read -r true_kb _ < <(measure true)
best_t=999
scan_kb=0
for _ in 1 2 3; do
	read -r kb t < <(measure "$AGENT" discover --sources netscan --netscan-cidrs 127.0.1.0/24 \
	    --netscan-ports 9100,631,515 --netscan-timeout-ms 500 --netscan-concurrency 256)
	[ "$kb" -gt "$scan_kb" ] && scan_kb=$kb
	best_t=$(awk -v a="$t" -v b="$best_t" 'BEGIN { print (a < b) ? a : b }')
done
read -r base_kb base_t < <(measure "$AGENT" discover --sources netscan --netscan-cidrs \
    127.0.1.0/28 --netscan-ports 9100,631,515 --netscan-concurrency 1)

# The daemon, when this build has it: `run` with no source and a server that
# refuses (loopback port 9), sampled after it settled.
run_kb=
if "$AGENT" --help 2>/dev/null | grep -q '^  run '; then
	spool=$(mktemp -d /tmp/agent_scan.XXXXXX)
	PRINTMASTER_SOURCES='' PRINTMASTER_SERVER_URL=http://127.0.0.1:9/ \
	    PRINTMASTER_AGENT_KEY=pmk_bench PRINTMASTER_SPOOL_DIR=$spool \
	    "$AGENT" run >/dev/null 2>&1 &
	pid=$!
	sleep 3
	run_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	# RSS counts every shared library page the process touched; PSS shares
	# them out among their users, and private dirty pages are its own alone.
	run_pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
	run_priv=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$spool"
fi

per_scan=$(awk -v t="$best_t" 'BEGIN { printf "%.1f", t * 1e6 / 762 }')
per_base=$(awk -v t="$base_t" 'BEGIN { printf "%.1f", t * 1e6 / 42 }')
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v < lim) ? "ok" : "OVER TARGET" }'; }

echo "agent_scan: printmaster-agent footprint and scan speed ($(nproc) cores)"
printf '  idle (discover, no sources)   VmHWM %6d KiB  target < 8192 KiB: %s\n' \
    "$idle_kb" "$(verdict "$idle_kb" 8192)"
if [ -n "$run_kb" ]; then
	printf '  idle daemon (run, no sources) VmRSS %6d KiB  target < 8192 KiB: %s\n' \
	    "$run_kb" "$(verdict "$run_kb" 8192)"
	printf '                                 PSS %6d KiB, private dirty %d KiB\n' \
	    "${run_pss:-0}" "${run_priv:-0}"
fi
printf '  baseline: true                VmHWM %6d KiB  agent idle / true = %s\n' \
    "$true_kb" "$(ratio "$idle_kb" "$true_kb")"
printf '  scan 127.0.1.0/24 x 3 ports   VmHWM %6d KiB  peak / idle = %s\n' \
    "$scan_kb" "$(ratio "$scan_kb" "$idle_kb")"
printf '  scan wall time (best of 3)    %6.3f s      target < 2 s: %s  (762 probes, %s us each)\n' \
    "$best_t" "$(verdict "$best_t" 2)" "$per_scan"
printf '  baseline: /28 x 3, one at a time %5.3f s     (42 probes, %s us each, VmHWM %d KiB)\n' \
    "$base_t" "$per_base" "$base_kb"
printf '  per-probe speed-up from concurrency 256: %sx\n' "$(ratio "$per_base" "$per_scan")"
