#!/usr/bin/env bash
# Build the sim target's binaries (Kubernetes control plane, etcd, kwok, kwokctl)
# from their Go modules into a versioned cache directory. Skips binaries that exist.
# Usage: ci/build-sim.sh [CACHE_ROOT]   (default: ${TESTBED_CACHE:-~/.cache/testbed})
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.35}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"

cache_root="${1:-${TESTBED_CACHE:-$HOME/.cache/testbed}}"
bin="$cache_root/sim/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}/bin"
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath"

have() { [ -x "$bin/$1" ]; }
log() { printf '[build-sim] %s\n' "$*" >&2; }

# Binaries are built into a staging dir of this run inside $bin (same filesystem, so the final
# mv is an atomic rename) and never under a shared name: a concurrent build of the same cache
# neither overwrites our half-written binary nor has its own removed by our cleanup.
staging="$(mktemp -d "$bin/.staging.XXXXXX")"
# Every scratch module dir and this run's staging dir (with any half-written binary) are
# removed however the script ends; nothing of another run is touched.
work_dirs=("$staging")
cleanup() { rm -rf "${work_dirs[@]}"; }
trap cleanup EXIT

k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
need_k8s=()
for b in "${k8s_bins[@]}"; do have "$b" || need_k8s+=("$b"); done

if [ "${#need_k8s[@]}" -gt 0 ]; then
  work="$(mktemp -d)"; work_dirs+=("$work")
  minor="v0.${K8S_VERSION#v1.}"
  log "k8s.io/kubernetes $K8S_VERSION (staging at $minor): ${need_k8s[*]}"
  (
    cd "$work"
    go mod init testbed.local/k8sbuild >/dev/null 2>&1
    # Read the staging replaces of this exact release and point each at its published version.
    go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" >/dev/null
    gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/${K8S_VERSION}.mod"
    args=()
    while read -r name; do
      args+=("-replace=${name}=${name}@${minor}")
    done < <(awk '/=> \.\/staging\/src\//{print $1}' "$gomod")
    [ "${#args[@]}" -gt 10 ] || { log "could not read staging modules from $gomod"; exit 1; }
    go mod edit "${args[@]}" "-require=k8s.io/kubernetes@${K8S_VERSION}"
    pkgs=()
    for b in "${need_k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    cat > tools.go <<GO
//go:build tools
package tools
import (
$(for p in "${pkgs[@]}"; do echo "	_ \"$p\""; done)
)
GO
    go mod tidy >&2 || go get "${pkgs[@]}" >&2
    ver_pkg=k8s.io/component-base/version
    major="${K8S_VERSION#v}"; major="${major%%.*}"
    minor_num="${K8S_VERSION#v*.}"; minor_num="${minor_num%%.*}"
    ldflags="-s -w -X ${ver_pkg}.gitVersion=${K8S_VERSION} -X ${ver_pkg}.gitMajor=${major} -X ${ver_pkg}.gitMinor=${minor_num} -X ${ver_pkg}.gitTreeState=clean -X ${ver_pkg}.buildDate=1970-01-01T00:00:00Z"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=${major} -X k8s.io/client-go/pkg/version.gitMinor=${minor_num}"
    for b in "${need_k8s[@]}"; do
      log "building $b"
      go build -ldflags "$ldflags" -o "$staging/$b" "k8s.io/kubernetes/cmd/$b"
      mv "$staging/$b" "$bin/$b"
    done
  )
fi

if ! have etcd; then
  log "etcd $ETCD_VERSION"
  work_etcd="$(mktemp -d)"; work_dirs+=("$work_etcd")
  (
    cd "$work_etcd"
    go mod init testbed.local/etcdbuild >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2
    go build -ldflags "-s -w" -o "$staging/etcd" go.etcd.io/etcd/server/v3
    mv "$staging/etcd" "$bin/etcd"
  )
fi

for b in kwok kwokctl; do
  if ! have "$b"; then
    log "$b $KWOK_VERSION"
    GOBIN="$staging" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/$b@${KWOK_VERSION}"
    mv "$staging/$b" "$bin/$b"
  fi
done
echo "$bin"
