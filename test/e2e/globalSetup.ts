// Once per e2e run: make sure this machine can boot local test hosts, clear what a
// crashed earlier run left, and prove at the end that the run left nothing behind.
import * as fs from "node:fs";
import type { TestProject } from "vitest/node";
import { ensureRootfs, leftovers, stopPool, type HostSuite } from "../../src/sandbox/hostPool";

// Pools that are not ours to stop: the interactive sandbox (`agent-runtime sandbox`)
// and scripts/bench-hostpool.sh may be running while tests run. Every other pool
// belongs to tests and is fair game.
import { POOL } from "./pool";

function requireTool(name: string, hint: string): void {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
  if (!dirs.some((d) => d && fs.existsSync(`${d}/${name}`))) {
    throw new Error(`e2e tests need ${name}: ${hint}`);
  }
}

/** Checks prerequisites, builds the cached rootfs of the project's Debian release
 *  (its `env.AGENT_RUNTIME_ROOTFS_SUITE`: the e2e-trixie project) and removes stale test pools. */
export async function setup(project?: TestProject): Promise<void> {
  if (process.platform !== "linux") {
    throw new Error(`e2e tests boot systemd-nspawn hosts and need Linux (this is ${process.platform})`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error("e2e tests need root (network namespaces, overlay mounts, systemd-nspawn); run them as root");
  }
  requireTool("systemd-nspawn", "apt-get install -y systemd-container");
  requireTool("debootstrap", "apt-get install -y debootstrap");
  requireTool("ssh", "apt-get install -y openssh-client");
  await stopPool(POOL);
  await ensureRootfs(project?.config.env?.AGENT_RUNTIME_ROOTFS_SUITE as HostSuite | undefined);
}

/** Stops every test pool and fails the run loudly if anything of ours remains. */
export async function teardown(): Promise<void> {
  await stopPool(POOL);
  const left = await leftovers(POOL);
  if (left.length > 0) {
    throw new Error(`host pool teardown incomplete, still present:\n  ${left.join("\n  ")}`);
  }
}
