# shellcheck shell=bash
# Pinned toolchain versions for agent-runtime. Sourced by scripts/setup-toolchain.sh;
# this is the single place to bump a version.
# shellcheck disable=SC2034  # variables are used by the sourcing script

# --- Node.js -----------------------------------------------------------------
# Minimum major version the project needs; an older machine `node` gets replaced
# (on PATH) by the pinned npm package below.
NODE_MIN_MAJOR=22
# npm package that carries the Node binary itself (no install script needed).
# The "-x64" part is swapped for "-arm64" on aarch64 machines.
NODE_NPM_PACKAGE_BASE=node-linux
NODE_VERSION=22.23.3

# --- Pulumi CLI (built from Go modules) --------------------------------------
PULUMI_VERSION=3.259.0
PULUMI_PKG_MODULE=github.com/pulumi/pulumi/pkg/v3
PULUMI_SDK_MODULE=github.com/pulumi/pulumi/sdk/v3
PULUMI_CLI_PACKAGE=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
PULUMI_VERSION_SYMBOL=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
# pkg/v3 v3.259.0 requires gocloud.dev at an untagged commit
# (v0.46.1-0.20260810195832-b5401c07b5f1) that the module proxy refuses to serve
# (403 "This module version is not available"). v0.46.0 lacks APIs pkg/v3 uses
# (driver.DeleteOptions), so the wrapper module pins the next tag instead.
PULUMI_GOCLOUD_VERSION=v0.47.0

# --- Pulumi Node.js language host --------------------------------------------
# The module has no tags; it is taken at the commit of the pkg/v3.259.0 tag.
PULUMI_NODEJS_HOST_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
PULUMI_NODEJS_HOST_REF=a05d88f24d05

# --- Pulumi command provider -------------------------------------------------
PULUMI_COMMAND_VERSION=1.2.1
PULUMI_COMMAND_MODULE=github.com/pulumi/pulumi-command/provider
# Commit of the v1.2.1 tag (the provider module itself carries no tags).
PULUMI_COMMAND_REF=7f3eb6f3b77c
PULUMI_COMMAND_PACKAGE=github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command
PULUMI_COMMAND_VERSION_SYMBOL=github.com/pulumi/pulumi-command/provider/pkg/version.Version
# Opt-in fallback (AGENT_RUNTIME_NODEJS_HOST_FALLBACK=1) for when the module above
# cannot be fetched: the language host as it shipped inside the sdk/v3 module
# before it became a module of its own. v3.68.0 is the newest sdk/v3 release that
# still contains it and that the module proxy serves. It is an OLD host (2023);
# it ran a nodejs (JS and TS) program with CLI v3.259.0 and @pulumi/pulumi 3.259.0.
PULUMI_NODEJS_HOST_FALLBACK_VERSION=v3.68.0
PULUMI_NODEJS_HOST_FALLBACK_PACKAGE=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
