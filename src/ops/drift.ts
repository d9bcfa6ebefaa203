import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runWithStdin } from "../childProcess";
import { shq } from "../render/script";
import { knownHostsPattern, sshClientOptions } from "../ssh/clientOptions";
import { managedFiles, type ManagedFile, type StateStep, type StepConnection } from "./stackState";

// Drift: a managed file on a server that is no longer what agent-runtime last wrote there
// (a hand edit, a deletion, a changed mode). Detection is read-only: one ssh session per
// server runs `sha256sum` and `stat` as root on the files the state's scripts wrote, and
// the hashes are compared here. Nothing on a server is changed by `agent-runtime drift`.

/** One drifted file. */
export interface DriftFinding {
  server: string;
  /** The step that wrote the file (what `--repair` re-runs). */
  step: string;
  kind: string;
  path: string;
  problem: string;
}

export interface DriftReport {
  /** Files compared. */
  checked: number;
  findings: DriftFinding[];
  /** Servers that could not be checked, with the reason. */
  unreachable: { server: string; address: string; error: string }[];
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** The read-only check script for one server: one line per file, `INDEX STATE [HASH MODE OWNER]`. */
export function driftCheckScript(files: ManagedFile[]): string {
  return [
    "set -u",
    "check() { # index path user-of-$UID",
    "  local p=$2 uid",
    '  if [[ -n $3 ]]; then uid=$(id -u -- "$3" 2>/dev/null) || { echo "$1 nouser"; return; }; p=${p//\\$UID/$uid}; fi',
    '  if [[ -L $p ]]; then echo "$1 link"',
    '  elif [[ -f $p ]]; then echo "$1 file $(sha256sum <"$p" | cut -d" " -f1) $(stat -c "%a %U:%G" -- "$p")"',
    '  else echo "$1 missing"; fi',
    "}",
    ...files.map((f, i) => `check ${i} ${shq(f.path)} ${shq(f.uidOf ?? "")}`),
    "",
  ].join("\n");
}

/** Compare the check script's output with the expected files. */
export function compareDrift(files: ManagedFile[], output: string): DriftFinding[] {
  const lines = new Map(
    output
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => /^\d+$/.test(w[0] ?? ""))
      .map((w) => [Number(w[0]), w.slice(1)]),
  );
  return files.flatMap((f, i): DriftFinding[] => {
    const at = { server: f.server, step: f.step, kind: f.kind, path: f.path.replace("$UID", `<uid of ${f.uidOf}>`) };
    const w = lines.get(i);
    if (!w) return [{ ...at, problem: "not checked (no answer for this file)" }];
    if (w[0] === "nouser") return [{ ...at, problem: `user ${f.uidOf} does not exist` }];
    if (w[0] === "missing") return [{ ...at, problem: "missing" }];
    if (w[0] === "link") return [{ ...at, problem: "replaced by a symbolic link" }];
    const problems: string[] = [];
    if (w[1] !== sha256(f.content)) problems.push("content differs from what agent-runtime wrote");
    const got = `${w[2]} ${w[3]}`;
    if (got !== `${f.mode} ${f.owner}`) problems.push(`mode/owner ${got}, expected ${f.mode} ${f.owner}`);
    return problems.length ? [{ ...at, problem: problems.join("; ") }] : [];
  });
}

/** The connection to check a server with: the provisioner's (the sshd step's), plus the key file. */
function serverConnection(steps: StateStep[], server: string): StepConnection | undefined {
  const mine = steps.filter((s) => s.server === server && s.connection);
  return (mine.find((s) => s.name === `${server}-sshd`) ?? mine[0])?.connection;
}

/** Run `script` as root on the server over ssh (pinned host key, BatchMode, bounded connect). */
export async function runAsRoot(c: StepConnection, keyPath: string, script: string): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), "agent-runtime-drift-"));
  try {
    const known = path.join(dir, "known_hosts");
    writeFileSync(known, c.hostKey ? `${knownHostsPattern(c.host, c.port)} ${c.hostKey}\n` : "");
    const args = [
      ...sshClientOptions({ hostKeyFile: known, strict: true, keyPath, port: c.port, connectTimeout: 10 }),
      `${c.user}@${c.host}`,
      "sudo -n bash -s",
    ];
    return await runWithStdin("ssh", args, script);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Check every server in the state (or only `servers`). `keyPath` overrides the step's key file
 *  (needed for the command executor, whose key is a secret in the stack config). */
export async function checkDrift(steps: StateStep[], opts: { keyPath?: string; servers?: string[] } = {}): Promise<DriftReport> {
  const files = managedFiles(steps);
  const servers = [...new Set(steps.map((s) => s.server))].filter((s) => !opts.servers || opts.servers.includes(s)).sort();
  const report: DriftReport = { checked: 0, findings: [], unreachable: [] };
  await Promise.all(
    servers.map(async (server) => {
      const mine = files.filter((f) => f.server === server);
      const c = serverConnection(steps, server);
      const address = c ? `${c.user}@${c.host}:${c.port}` : "?";
      const keyPath = opts.keyPath ?? c?.keyPath;
      if (!c || !keyPath) {
        report.unreachable.push({
          server,
          address,
          error: "no connection or key in the state (pass --key FILE: the provisioner's private key)",
        });
        return;
      }
      const r = await runAsRoot(c, keyPath, driftCheckScript(mine));
      if (r.code !== 0) {
        report.unreachable.push({ server, address, error: `exit ${r.code}: ${(r.err.trim() || r.out.trim()).split("\n").pop()}` });
        return;
      }
      report.checked += mine.length;
      report.findings.push(...compareDrift(mine, r.out));
    }),
  );
  report.findings.sort((a, b) => `${a.server} ${a.path}`.localeCompare(`${b.server} ${b.path}`));
  return report;
}

/** The report as a table (what `agent-runtime drift` prints). */
export function driftTable(r: DriftReport): string {
  const rows = [
    ["SERVER", "FILE", "KIND", "STEP", "PROBLEM"],
    ...r.findings.map((f) => [f.server, f.path, f.kind, f.step, f.problem]),
    ...r.unreachable.map((u) => [u.server, "-", "-", "-", `not checked: ${u.address}: ${u.error}`]),
  ];
  const width = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(width[c]!))).join("  ")).join("\n");
}

/** The marker `--repair` puts in place of a drifted step's recorded script: the next `up`
 *  then sees the step changed and runs its (idempotent) script again — an update, never a
 *  replacement, because a replacement would run the step's undo after it (see README "Drift"). */
export const REPAIR_MARKER = "# drifted: re-run by agent-runtime drift --repair";
