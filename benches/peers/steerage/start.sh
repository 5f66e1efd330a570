#!/usr/bin/env bash
# Start steerage's dns_server example on 127.0.0.1:$(cat port) for the peer
# benchmark (../shared/bench/peers/run-all.sh, EXTRA_PEERS=benches/peers/steerage):
# the REPORT's scenario (crates/dns/testdata/scenario.toml) on the geography in $GEO_DB, one
# thread, pinned to $SERVER_CPU at nice $BENCH_NICE; PID in $RUN_ROOT/steerage/pid.
#
# The release binary is built here only when it is missing or older than the
# sources; build it beforehand (cargo build --release -p steerage-dns-examples
# --example dns_server) to keep start-up short.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# run-all.sh exports PEERS_DIR; common.sh gives GEO_DB, RUN_ROOT, SERVER_CPU,
# BENCH_NICE and wait_dns.
. "${PEERS_DIR:?run from ../shared/bench/peers/run-all.sh (or export PEERS_DIR)}/common.sh"
PORT="$(cat "$HERE/port")"
RUN="$RUN_ROOT/steerage"
BIN="${STEERAGE_DNS_BIN:-$ROOT/target/release/examples/dns_server}"

"$HERE/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$RUN"
if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/crates" "$ROOT/examples/dns/dns_server.rs" "$ROOT/examples/dns/Cargo.toml" "$ROOT/Cargo.lock" \
        -newer "$BIN" -type f 2>/dev/null | head -1)" ]; then
    echo "building $BIN"
    (cd "$ROOT" && cargo build --release -q -p steerage-dns-examples --example dns_server)
fi
[ -s "$GEO_DB" ] || { echo "no geo database at $GEO_DB" >&2; exit 1; }

nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" "$BIN" \
    --listen "127.0.0.1:$PORT" --config "$ROOT/crates/dns/testdata/scenario.toml" --geo "$GEO_DB" --threads 1 \
    > "$RUN/steerage.log" 2>&1 &
echo $! > "$RUN/pid"
# Compiling the 10 MB GeoIP2 file into the lookup table takes a few seconds.
if ! wait_dns "$PORT" 120; then
    echo "steerage did not come up; log:" >&2; tail -20 "$RUN/steerage.log" >&2; exit 1
fi
echo "steerage up on 127.0.0.1:$PORT (pid $(cat "$RUN/pid"))"
