#!/usr/bin/env bash
# Build the Go tools the policy suite uses and compares itself against (conftest, opa, kubeconform)
# from their modules at pinned versions, into a cache bin dir. Skips tools that exist.
# Prints the bin dir on stdout (put it on PATH). Never commits or downloads a binary.
# Usage: ci/build-go-tools.sh [CACHE_ROOT]   (default: ${TESTBED_CACHE:-~/.cache/testbed})
set -euo pipefail

CONFTEST_VERSION="${CONFTEST_VERSION:-v0.71.1}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
OPA_VERSION="${OPA_VERSION:-v1.21.1}"  # the OPA conftest $CONFTEST_VERSION embeds

cache_root="${1:-${TESTBED_CACHE:-$HOME/.cache/testbed}}"
bin="$cache_root/tools/bin"
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath"

log() { printf '[build-go-tools] %s\n' "$*" >&2; }

# name  module-path@version  version-marker
build() {
  local name="$1" pkg="$2" version="$3"
  local marker="$bin/.$name.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$marker" 2>/dev/null)" = "$version" ]; then
    log "$name $version: present"
    return
  fi
  log "$name $version: go install $pkg@$version"
  GOBIN="$bin" go install -ldflags "-s -w" "$pkg@$version"
  printf '%s\n' "$version" > "$marker"
}

build conftest github.com/open-policy-agent/conftest "$CONFTEST_VERSION"
build kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
build opa github.com/open-policy-agent/opa "$OPA_VERSION"

printf '%s\n' "$bin"
