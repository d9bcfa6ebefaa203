import { lstatSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";

// Drives the real Pulumi engine through the Automation API with a private PULUMI_HOME,
// a local file:// backend and no plugin downloads. The project's Pulumi.yaml stays
// untouched: each run gets its own work dir whose Pulumi.yaml points `main` at the repo,
// so stack config files never land in the checkout.

/** Repository root (the Pulumi program). */
export const REPO_ROOT = path.resolve(__dirname, "../..");
/** Where setup-toolchain.sh puts pulumi, the language host, the command provider and node 22. */
export const TOOLCHAIN_BIN = path.join(process.env.AGENT_RUNTIME_CACHE ?? "/var/cache/agent-runtime", "bin");

export interface EngineOptions {
  /** Private state: PULUMI_HOME, backend and work dir live under it. */
  stateDir: string;
  stackName: string;
  /** Stack config values (plain). */
  config: Record<string, string>;
  /** Stack config values stored encrypted. */
  secrets?: Record<string, string>;
}

/** Environment every Pulumi run gets: offline, private, file backend. */
export function engineEnv(stateDir: string): Record<string, string> {
  return {
    PULUMI_HOME: path.join(stateDir, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(stateDir, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "agent-runtime-local",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PATH: `${TOOLCHAIN_BIN}:${process.env.PATH ?? ""}`,
    // Transpile only (tsconfig.run.json): the Pulumi.yaml option says the same, but the
    // language host buildable here (README "Toolchain") ignores runtime options; the SDK
    // reads this variable itself.
    PULUMI_NODEJS_TSCONFIG_PATH: path.join(REPO_ROOT, "tsconfig.run.json"),
    // Node's compile cache for the program and the dynamic-provider processes (both load
    // @pulumi/pulumi and typescript on every run). In the toolchain cache, root's alone:
    // never a shared temp dir, where someone else could plant compiled code.
    NODE_COMPILE_CACHE: path.join(path.dirname(TOOLCHAIN_BIN), "node-compile-cache"),
  };
}

/** Open (create or select) a stack of this project with the given config. */
export async function openStack(opts: EngineOptions): Promise<Stack> {
  const env = engineEnv(opts.stateDir);
  const workDir = path.join(opts.stateDir, "work");
  for (const d of [env.PULUMI_HOME!, env.PULUMI_BACKEND_URL!.slice("file://".length), workDir]) mkdirSync(d, { recursive: true });
  withoutAutomaticLog(env.PULUMI_HOME!);
  writeFileSync(
    path.join(workDir, "Pulumi.yaml"),
    `name: agent-runtime\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n    tsconfig: ${REPO_ROOT}/tsconfig.run.json\nmain: ${REPO_ROOT}\n`,
  );
  Object.assign(process.env, { PULUMI_HOME: env.PULUMI_HOME }); // PulumiCommand.get reads it for its own lookups
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(TOOLCHAIN_BIN), skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stackName, workDir },
    { envVars: env, pulumiHome: env.PULUMI_HOME, pulumiCommand },
  );
  await stack.setAllConfig({
    ...Object.fromEntries(Object.entries(opts.config).map(([k, v]) => [`agent-runtime:${k}`, { value: v }])),
    ...Object.fromEntries(Object.entries(opts.secrets ?? {}).map(([k, v]) => [`agent-runtime:${k}`, { value: v, secret: true }])),
  });
  return stack;
}

/** What stands in for $PULUMI_HOME/logs (see withoutAutomaticLog). */
export const AUTOMATIC_LOG_OFF =
  "agent-runtime: Pulumi's automatic debug log is off for this private PULUMI_HOME: the CLI writes it under logs/,\n" +
  'and this file in its place stops it. AGENT_RUNTIME_PULUMI_LOGS=1 turns it back on (README "Performance").\n';

/**
 * The Pulumi CLI (since mid-2026; v3.259.0 here) writes a compressed debug log of every
 * command to $PULUMI_HOME/logs/, encrypted once a stack is open. It has no switch, and it
 * costs: a 200-developer preview wrote 145 MB of it and spent half of the engine's CPU
 * compressing it (README "Performance"). The CLI goes on without it when logs/ cannot be
 * made, so in the private homes of the sandbox and the tests a file takes its place.
 * AGENT_RUNTIME_PULUMI_LOGS=1 keeps the log (the file goes; Pulumi makes the directory).
 */
export function withoutAutomaticLog(home: string, env: NodeJS.ProcessEnv = process.env): void {
  const logs = path.join(home, "logs");
  const st = lstatSync(logs, { throwIfNoEntry: false });
  if (env.AGENT_RUNTIME_PULUMI_LOGS === "1") {
    if (st?.isFile()) rmSync(logs);
    return;
  }
  // Only Pulumi's own logs of this private home's earlier runs are in it.
  if (st?.isDirectory()) rmSync(logs, { recursive: true });
  if (!st || st.isDirectory()) writeFileSync(logs, AUTOMATIC_LOG_OFF);
}
