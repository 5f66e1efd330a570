#!/usr/bin/env bash
# Stop the server started by start.sh, by its recorded PID only.
. "${PEERS_DIR:?run from ../shared/bench/peers/run-all.sh (or export PEERS_DIR)}/common.sh"
stop_pidfile "$RUN_ROOT/${STEERAGE_PEER:-steerage-serve}/pid"
