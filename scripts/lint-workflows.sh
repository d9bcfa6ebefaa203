#!/usr/bin/env bash
# lint-workflows.sh [--install] [DIR] — lint GitHub Actions workflows with actionlint,
# built from the Go module proxy once and cached outside the repo.
#   --install   only make sure actionlint is built (setup.sh calls this)
set -euo pipefail
ACTIONLINT_VERSION=v1.7.7
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}/bin
tool=$BIN/actionlint-$ACTIONLINT_VERSION
if [[ ! -x $tool ]]; then
  mkdir -p "$BIN"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "lint-workflows: building actionlint $ACTIONLINT_VERSION" >&2
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN=$tmp go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  mv "$tmp/actionlint" "$tool"
fi
if [[ ${1:-} == --install ]]; then exit 0; fi
dir=${1:-$ROOT/.github/workflows}
shopt -s nullglob
files=("$dir"/*.yml "$dir"/*.yaml)
((${#files[@]})) || { echo "lint-workflows: no workflows in $dir" >&2; exit 1; }
exec "$tool" -no-color "${files[@]}"
