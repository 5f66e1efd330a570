#!/usr/bin/env bash
# The steerage version and commit being benchmarked.
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "steerage serve $version ($commit)${STEERAGE_SERVE_EXTRA:+ $STEERAGE_SERVE_EXTRA}"
