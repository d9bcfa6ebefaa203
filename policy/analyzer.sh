#!/bin/sh
# Launch this policy pack as a binary analyzer plugin:
#   pulumi preview --policy-pack policy/analyzer.sh
# The engine runs an executable given to --policy-pack with the engine's address as its
# only argument (and still reads PulumiPolicy.yaml beside it). This does what Pulumi's
# `pulumi-analyzer-policy` shim does: run @pulumi/pulumi's run-policy-pack on this
# directory. Why not `--policy-pack policy`: for a directory the engine asks the nodejs
# language host to run the pack (RunPlugin), and the only language host the Go module
# proxy serves here (sdk/v3 v3.68.0) answers "not supported"; the legacy shim path is only
# taken when no nodejs language host exists at all, which the program itself needs.
set -eu
cd "$(dirname "$0")"
# Resolved from here: the repository's node_modules (the pack has no dependencies of its own).
run=$(node -p "require.resolve('@pulumi/pulumi/cmd/run-policy-pack')")
exec node "$run" "$1" .
