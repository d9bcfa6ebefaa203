#!/usr/bin/env bash
# lint-workflows.sh - lint the GitHub Actions workflows with actionlint (workflow syntax,
# expressions, action inputs, and every `run:` script through shellcheck).
#
# actionlint is built once from the Go module proxy and cached OUTSIDE the repository:
#   ${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}/bin/actionlint-<version>
# Needs Go (any toolchain that builds it; GOTOOLCHAIN=local, so nothing else is fetched)
# and shellcheck (scripts/setup.sh installs it): a missing shellcheck fails the lint
# rather than silently skipping the scripts.
#
# Usage: scripts/lint-workflows.sh [FILE|DIR ...]   (default: .github/workflows)
#        scripts/lint-workflows.sh --install       only build/cache actionlint (setup.sh)
# Exit: 0 clean, 1 lint errors, 3 actionlint (or shellcheck) could not be had.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}
BIN=$CACHE/bin
EXE=$BIN/actionlint-$ACTIONLINT_VERSION

fail() { echo "lint-workflows: $*" >&2; exit 3; }

if [[ ! -x $EXE ]]; then
  mkdir -p "$BIN"
  case "$(cd -- "$BIN" && pwd -P)/" in
    "$(cd -- "$ROOT" && pwd -P)/"*) fail "AGENT_RUNTIME_CACHE ($CACHE) must be outside the repository" ;;
  esac
  GO=$(command -v go || true)
  [[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
  [[ -n $GO ]] || fail "go is needed to build actionlint $ACTIONLINT_VERSION (not on PATH, not in /usr/local/go/bin)"
  # One build at a time per cache; the binary appears under its final name only when whole.
  exec 9>"$BIN/.actionlint.lock"
  flock 9
  if [[ ! -x $EXE ]]; then
    tmp=$(mktemp -d "$BIN/.actionlint-build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "lint-workflows: building actionlint $ACTIONLINT_VERSION from the Go module proxy" >&2
    if ! (cd "$tmp" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS='' GOBIN="$tmp" \
      "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION") >"$tmp/build.log" 2>&1; then
      cat "$tmp/build.log" >&2
      fail "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed (log above)"
    fi
    mv -f "$tmp/actionlint" "$EXE"
    # `exec` below skips EXIT traps: clean up now.
    rm -rf "$tmp"
    trap - EXIT
  fi
fi

[[ ${1:-} == --install ]] && exit 0

SHELLCHECK=$(command -v shellcheck || true)
[[ -n $SHELLCHECK ]] || fail "shellcheck is needed (apt-get install shellcheck, or scripts/setup.sh)"

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("$ROOT/.github/workflows")
files=()
for t in "${targets[@]}"; do
  if [[ -d $t ]]; then
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$t" -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)
  else
    files+=("$t")
  fi
done
[[ ${#files[@]} -gt 0 ]] || fail "no workflow files in ${targets[*]}"
exec "$EXE" -no-color -shellcheck="$SHELLCHECK" "${files[@]}"
