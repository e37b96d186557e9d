#!/bin/sh
# bench/compare.sh: printmaster against the seed-like peer (bench/compare.js):
# every scenario of issue 10 in one run, a table with ratios, docs/benchmarks.md.
# Needs a build (make), wrk and node; installs the peer's npm packages once.
set -eu
cd "$(dirname "$0")/.."
command -v wrk >/dev/null 2>&1 || { echo "compare: needs wrk (scripts/install-deps)" >&2; exit 1; }
[ -x "${BUILD:-build}/bin/printmaster-server" ] || { echo "compare: build first (make)" >&2; exit 1; }
if [ ! -d bench/peer/node_modules/pg ] || [ ! -d bench/peer/node_modules/ws ]; then
	(cd bench/peer && npm ci --no-audit --no-fund --silent)
fi
# 10,000 websocket clients need as many descriptors, in this process and the servers.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec node bench/compare.js
