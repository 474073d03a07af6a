#!/usr/bin/env bash
# Warm testbed's upstream cache before the tests: download the Go module zips that
# manifests/upstream/versions.yaml pins (go_modules), check each one's h1: module hash, and keep
# them in ${TESTBED_CACHE:-$HOME/.cache/testbed}/upstream/gomod. `testbed bundle` and the
# tests in tests/integration/upstream then read the pinned files from there.
# Proxy: $GOPROXY read as Go reads it (first URL entry; `direct` skipped; `off` = none; unset =
# https://proxy.golang.org; user:password@ in the URL = basic auth, never printed). Needs only python3
# (standard library): it runs before any virtualenv exists. A second run downloads nothing but
# checks every cached zip's h1: again. Exit 2: bad input (versions file, $GOPROXY); 1: fetch failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-python3}" -m testbed.bringup.gomod manifests/upstream/versions.yaml
