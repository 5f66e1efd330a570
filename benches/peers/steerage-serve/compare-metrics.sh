#!/usr/bin/env bash
# What --metrics costs: the peers harness's timed load runs against
# `steerage serve` without and with --metrics, interleaved (A B A B ...) so
# that the load other work puts on this shared machine falls on both alike.
# Both servers run at once, pinned to $SERVER_CPU; only one is under load at
# a time. Each run is the harness's: timed-load.sh under flock, the 10,000-
# client ECS mix, $OUTSTANDING in flight, $DURATION s after a 1 s warm-up.
#
#   PEERS_DIR=../shared/bench/peers bash benches/peers/steerage-serve/compare-metrics.sh
#
# Knobs: PAIRS=8 DURATION=10 OUTSTANDING=64 QUIET_MAX_WAIT=30 STEERAGE_BIN=...
# Prints per run qps, server CPU % and answers per server CPU-second, then the
# medians and the ratio with/without. Raw outputs in $RUN_ROOT/results/compare-<time>/.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "${PEERS_DIR:?export PEERS_DIR=<shared>/bench/peers}/common.sh"
PAIRS="${PAIRS:-8}"
DURATION="${DURATION:-10}"
OUTSTANDING="${OUTSTANDING:-64}"
export QUIET_MAX_WAIT="${QUIET_MAX_WAIT:-30}"
OUT="$RUN_ROOT/results/compare-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
PLAIN=steerage-serve
COUNTED=steerage-serve-metrics

trap 'bash "$HERE/../$PLAIN/stop.sh"; bash "$HERE/../$COUNTED/stop.sh"' EXIT
bash "$HERE/../$PLAIN/start.sh" || exit 1
bash "$HERE/../$COUNTED/start.sh" || exit 1
bash "$HERE/../$COUNTED/version.sh" > "$OUT/version.txt"

one_run() {  # one_run PEER LABEL
    local peer=$1 label=$2 port pid
    port=$(cat "$HERE/../$peer/port"); pid=$(cat "$RUN_ROOT/$peer/pid")
    wait_quiet
    flock /tmp/bench.lock bash "$PEERS_DIR/timed-load.sh" "$pid" -- -p "$port" --sample "$ECS_SAMPLE" \
        -c "$OUTSTANDING" -l "$DURATION" -w 1 --label "$label" > "$OUT/$label.txt" 2>&1
    local qps cpu wall util
    qps=$(sed -n 's/.*"qps":\([0-9.]*\).*/\1/p' "$OUT/$label.txt" | tail -1)
    read -r cpu wall util < <(sed -n 's/^SERVER_CPU cpu_s=\([0-9.]*\) wall_s=\([0-9.]*\) util_pct=\([0-9]*\).*/\1 \2 \3/p' "$OUT/$label.txt")
    local per_cpu
    per_cpu=$(awk -v q="$qps" -v c="$cpu" -v w="$wall" 'BEGIN { if (c > 0) printf "%.0f", q * w / c; else print 0 }')
    echo "$peer $label qps=$qps server_cpu_pct=$util answers_per_cpu_s=$per_cpu idle_before=$(sed -n 's/^QUIET idle_pct=\([0-9]*\).*/\1/p' "$OUT/$label.txt")" | tee -a "$OUT/runs.txt"
}

for ((i = 1; i <= PAIRS; i++)); do
    if ((i % 2)); then first=$PLAIN; second=$COUNTED; else first=$COUNTED; second=$PLAIN; fi
    one_run "$first" "$first-$i"
    one_run "$second" "$second-$i"
done
# the scrape after the load: every answer counted
curl -s "http://127.0.0.1:9307/metrics" > "$OUT/metrics.txt" 2>/dev/null || true

python3 - "$OUT/runs.txt" "$PLAIN" "$COUNTED" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    peer = line.split()[0]
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    runs.setdefault(peer, []).append((float(fields["qps"]), float(fields["answers_per_cpu_s"])))
plain, counted = sys.argv[2], sys.argv[3]
for key, index in (("qps", 0), ("answers per server CPU-second", 1)):
    a = [r[index] for r in runs[plain]]; b = [r[index] for r in runs[counted]]
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{key}: without --metrics median {ma:,.0f} ({min(a):,.0f}-{max(a):,.0f}), "
          f"with median {mb:,.0f} ({min(b):,.0f}-{max(b):,.0f}), ratio {mb / ma:.3f}")
PY
