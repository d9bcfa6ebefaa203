import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import { leftovers, stopPool } from "../../src/sandbox/hostPool";
import { POOL as TEST_POOL } from "./pool";

// The README's first command, as a user runs it: `agent-runtime sandbox up`, the
// printed login commands, `status --json`, `audit-access`, `down` — and nothing left
// behind. Its own pool and state dir, so a developer's sandbox is never touched.

// Derived from this run's pool, so two runs at once keep apart (see pool.ts).
const POOL = `${TEST_POOL.slice(0, 6)}sb`;
const SUBNET = process.env.AGENT_RUNTIME_TEST_SANDBOX_SUBNET ?? "10.213.6";
const state = mkdtempSync(path.join(tmpdir(), "agent-runtime-sandbox-"));
const env = { ...process.env, AGENT_RUNTIME_SANDBOX_POOL: POOL, AGENT_RUNTIME_SANDBOX_SUBNET: SUBNET, AGENT_RUNTIME_SANDBOX_STATE: state };

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bin/agent-runtime", args, { env, timeout: 10 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", command], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}

afterAll(async () => {
  await stopPool(POOL);
  rmSync(state, { recursive: true, force: true });
});

describe.sequential("sandbox CLI", () => {
  test("up provisions the example team and prints working login commands", async () => {
    const up = await cli("sandbox", "up");
    expect(up.code, up.stderr.slice(-2000)).toBe(0);
    expect(up.stdout).toMatch(/^dev-wes\s+wes-agent\*\s+-\s+-\s+wes-agent$/m);
    // Run the printed commands exactly as a person would paste them.
    const login = up.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("ssh -i "));
    expect(login).toHaveLength(2);
    const dev = await sh(`${login[0]} agentctl new --name demo`);
    expect(dev.code, dev.stderr).toBe(0);
    const lead = await sh(`${login[1]} agentctl ls`);
    expect(lead.stdout).toMatch(/^dev-nadia\s+demo\s.*\snadia-agent\s+nadia\s/m);
  });

  test("status --json lists reachable hosts; audit-access finds no extra or missing grant", async () => {
    const st = await cli("sandbox", "status", "--json");
    const hosts = JSON.parse(st.stdout) as {
      name: string;
      address: string;
      port: number;
      adminUser: string;
      keyPath: string;
      reachable: boolean;
    }[];
    expect(hosts.map((h) => h.name)).toEqual(["dev-marcus", "dev-nadia", "dev-olga", "dev-wes"]);
    for (const h of hosts) {
      expect(h).toMatchObject({ port: 22, adminUser: "agent-runtime", reachable: true });
      expect(h.address.startsWith(`${SUBNET}.`)).toBe(true);
      const probe = await sh(
        `ssh -i ${h.keyPath} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${h.adminUser}@${h.address} true`,
      );
      expect(probe.code).toBe(0);
    }
    const audit = await cli("audit-access", "--json");
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout).findings).toEqual([]);
  });

  test("preview: a one-mentee grant shows the access line and the rendered sudoers rule, nothing else", async () => {
    const head = path.join(state, "head-team.yaml");
    const doc = parseDocument(readFileSync("team.yaml", "utf8"));
    const olga = (doc.toJS().developers as { name: string }[]).findIndex((d) => d.name === "olga");
    doc.setIn(["developers", olga, "mentees"], doc.createNode(["nadia", "wes"]));
    writeFileSync(head, doc.toString());
    const pv = await cli("preview", head);
    expect(pv.code, pv.stderr.slice(-2000)).toBe(0);
    expect(pv.stdout).toMatch(/\+ olga → wes-agent on dev-wes/);
    expect(pv.stdout).toContain("olga ALL=(wes-agent) NOPASSWD: ALL");
    expect(pv.stdout).toMatch(/\+ +pulumi-nodejs:dynamic:Resource: \(create\)[\s\S]*dev-wes-sudoers-olga/);
    expect(pv.stdout).toMatch(/2 to create/);
    expect(pv.stdout).toMatch(/1 to update/); // olga's hop list on dev-olga
    expect(pv.stdout).not.toMatch(/to delete|to replace/);
  });

  test("down destroys the stack and leaves no process, mount, namespace, bridge or route", async () => {
    const down = await cli("sandbox", "down");
    expect(down.code, down.stderr.slice(-2000)).toBe(0);
    expect(await leftovers(POOL)).toEqual([]);
    const st = await cli("sandbox", "status", "--json");
    expect(JSON.parse(st.stdout)).toEqual([]);
  });
});
