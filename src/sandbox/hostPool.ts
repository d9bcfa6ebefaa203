// Local test hosts (systemd-nspawn on overlayfs, one netns each) driven through
// scripts/hostpool.sh. The script owns all root-level work; this module only runs it,
// parses its JSON and talks ssh to the hosts. No Pulumi imports: tests and the CLI
// use it before any engine exists.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { sshClientOptions } from "../ssh/clientOptions";

/** How a pool host runs: a systemd-nspawn container (fast), or a QEMU VM with a real kernel (limits enforced, auditd runs). */
export type HostKind = "nspawn" | "vm";

/** One booted host, exactly as printed by `hostpool.sh up`. */
export interface PoolHost {
  name: string;
  /** Absent in output of older scripts: "nspawn". */
  kind?: HostKind;
  address: string;
  port: number;
  adminUser: string;
  privateKeyPath: string;
  hostPublicKey: string;
  knownHostsPath: string;
}

/** A host plus liveness, as printed by `hostpool.sh status --json`. */
export interface PoolHostStatus extends PoolHost {
  running: boolean;
  // One bounded ssh probe answered.
  reachable: boolean;
}

/** Exit code and captured output of a finished process (code -1: killed on timeout). */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for sshExec; user and key default to the host's admin user and pool key. */
export interface SshExecOptions {
  user?: string;
  keyPath?: string;
  input?: string;
  timeoutMs?: number;
}

/** Absolute path of the host-pool script. */
export const HOSTPOOL_SCRIPT = path.join(__dirname, "../../scripts/hostpool.sh");

// Generous: a cold rootfs build is ~1 min, booting 8 hosts a few seconds; the bound
// exists so a wedged script fails the run instead of hanging it.
// A VM image build is ~1 min on top of the rootfs; a TCG boot ~25 s idle, minutes when busy.
const TIMEOUTS = { rootfs: 20 * 60_000, vmImage: 20 * 60_000, up: 15 * 60_000, down: 3 * 60_000, query: 2 * 60_000 };

interface RunOptions {
  timeoutMs: number;
  input?: string;
}

// spawn rather than execFile: no maxBuffer surprises, stdin for ssh input, and the
// timeout kills exactly the PID we started.
function runProcess(file: string, args: string[], opts: RunOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (process.env.AGENT_RUNTIME_HOSTPOOL_VERBOSE) process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[killed after ${opts.timeoutMs} ms timeout]`;
      resolve({ code: timedOut || code === null ? -1 : code, stdout, stderr });
    });
    // A closed stdin matters: ssh would otherwise wait for input that never comes.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

async function hostpool(args: string[], timeoutMs: number, okCodes = [0]): Promise<ExecResult> {
  const res = await runProcess("bash", [HOSTPOOL_SCRIPT, ...args], { timeoutMs });
  if (!okCodes.includes(res.code)) {
    throw new Error(`hostpool.sh ${args.join(" ")} exited ${res.code}\n${res.stderr.trim().split("\n").slice(-40).join("\n")}`);
  }
  return res;
}

function parseHosts<T extends PoolHost>(stdout: string, what: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`hostpool.sh ${what}: stdout is not JSON: ${(err as Error).message}\n${stdout}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`hostpool.sh ${what}: expected a JSON array`);
  for (const h of parsed as Record<string, unknown>[]) {
    for (const key of ["name", "address", "adminUser", "privateKeyPath", "hostPublicKey", "knownHostsPath"]) {
      if (typeof h[key] !== "string") throw new Error(`hostpool.sh ${what}: host without string "${key}"`);
    }
    if (typeof h.port !== "number") throw new Error(`hostpool.sh ${what}: host without numeric "port"`);
  }
  return parsed as T[];
}

/** Debian releases the host pool boots (scripts/lib/hostpool/rootfs.sh). */
export type HostSuite = "bookworm" | "trixie";

/** Builds the cached rootfs of `suite` if needed (default: AGENT_RUNTIME_ROOTFS_SUITE, else bookworm) and returns its path. */
export async function ensureRootfs(suite?: HostSuite): Promise<string> {
  const res = await hostpool(["rootfs", ...(suite ? ["--suite", suite] : [])], TIMEOUTS.rootfs);
  return res.stdout.trim().split("\n").pop() ?? "";
}

/** Builds the cached VM image (rootfs + Debian's kernel, ext4) if needed and returns its directory. */
export async function ensureVmImage(): Promise<string> {
  const res = await hostpool(["vm-image"], TIMEOUTS.rootfs + TIMEOUTS.vmImage);
  return res.stdout.trim().split("\n").pop() ?? "";
}

/** Boots one host per name (after clearing stale state of the same pool); resolves when all answer ssh. `kinds` picks a host's kind (default nspawn). */
export async function startPool(opts: {
  pool: string;
  subnet: string;
  names: string[];
  kinds?: Record<string, HostKind>;
}): Promise<PoolHost[]> {
  const names = opts.names.map((n) => (opts.kinds?.[n] ? `${n}:${opts.kinds[n]}` : n));
  const res = await hostpool(["up", "--pool", opts.pool, "--subnet", opts.subnet, ...names], TIMEOUTS.up);
  return parseHosts<PoolHost>(res.stdout, "up");
}

/** Stops a pool and removes everything it created; safe when nothing exists. */
export async function stopPool(pool: string): Promise<void> {
  await hostpool(["down", "--pool", pool], TIMEOUTS.down);
}

/** Hosts of a pool with nspawn liveness and one bounded ssh probe each; [] if not running. */
export async function poolStatus(pool: string): Promise<PoolHostStatus[]> {
  const res = await hostpool(["status", "--pool", pool, "--json"], TIMEOUTS.query);
  return parseHosts<PoolHostStatus>(res.stdout, "status");
}

/** Everything of ours still present (processes, mounts, netns, links, routes, state); [] when clean. */
export async function leftovers(pool?: string, keep: string[] = []): Promise<string[]> {
  const args = pool ? ["leftovers", "--pool", pool] : ["leftovers", ...keep.flatMap((k) => ["--keep", k])];
  const res = await hostpool(args, TIMEOUTS.query, [0, 1]);
  return res.stdout.split("\n").filter((l) => l.trim() !== "");
}

/** ssh arguments for a pool host: the shared client options (pinned host key, no agent, no config), 5 s connect, user@address. */
export function sshArgs(host: PoolHost, opts: { user?: string; keyPath?: string } = {}): string[] {
  // By IP only: a host name would send DNS queries off this machine.
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host.address)) {
    throw new Error(`refusing to ssh to "${host.address}": pool hosts are reached by IPv4 address only`);
  }
  return [
    ...sshClientOptions({
      hostKeyFile: host.knownHostsPath,
      strict: true,
      keyPath: opts.keyPath ?? host.privateKeyPath,
      port: host.port,
      connectTimeout: 5,
    }),
    `${opts.user ?? host.adminUser}@${host.address}`,
  ];
}

/** Runs a command on a pool host over ssh; resolves with its exit code (255: ssh itself failed). */
export function sshExec(host: PoolHost, command: string, opts: SshExecOptions = {}): Promise<ExecResult> {
  return runProcess("ssh", [...sshArgs(host, opts), "--", command], {
    timeoutMs: opts.timeoutMs ?? 120_000,
    input: opts.input,
  });
}
