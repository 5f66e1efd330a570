#!/usr/bin/env bash
# steerage-serve's start.sh for the server with --metrics (counting every answer).
HERE="$(cd "$(dirname "$0")" && pwd)"
STEERAGE_PEER=steerage-serve-metrics STEERAGE_SERVE_EXTRA="--metrics 127.0.0.1:9307" \
    exec bash "$HERE/../steerage-serve/start.sh" "$@"
