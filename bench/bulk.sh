#!/bin/sh
# bench/bulk.sh: bulk registration against a per-printer baseline (bench/bulk.js).
cd "$(dirname "$0")/.." && exec node bench/bulk.js "${1:-1000}" "${2:-5}"
