import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";
import { leftovers, poolStatus, stopPool } from "../../src/sandbox/hostPool";
import { setHostLink } from "./harness";
import { POOL as TEST_POOL, SUBNET as TEST_SUBNET } from "./pool";

// `agent-runtime sandbox down` always tears down: a host of the stack is gone, so
// `pulumi destroy` fails (its undo scripts cannot reach it); down says so, exits 1, and
// still removes every host, mount, namespace, link, route and the bridge. A two-person
// team on its own pool and state dir (a developer's sandbox is never touched).

const POOL = `${TEST_POOL.slice(0, 6)}dn`;
// Derived from this run's subnet (10.213.X -> 10.213.X+100), so two runs at once keep apart.
const SUBNET =
  process.env.AGENT_RUNTIME_TEST_DOWN_SUBNET ?? TEST_SUBNET.replace(/\.(\d+)$/, (_, c: string) => `.${(Number(c) + 100) % 256}`);
const state = mkdtempSync(path.join(tmpdir(), "agent-runtime-sandbox-down-"));
const env = { ...process.env, AGENT_RUNTIME_SANDBOX_POOL: POOL, AGENT_RUNTIME_SANDBOX_SUBNET: SUBNET, AGENT_RUNTIME_SANDBOX_STATE: state };

const TEAM = `team: acme
defaults:
  allowFrom: [198.51.100.0/24]
  et:
    source: none
developers:
  - name: marcus
    role: lead
    sshKeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeAV9+bivce34OvRktLLW9w58Ux8rLumXvqsyUNNuQq marcus@laptop
  - name: wes
    sshKeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFStgbhP2/C3mE7l3MxoV148ggv+gTdSVB29sh+idgmX wes@laptop
`;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bin/agent-runtime", args, { env, timeout: 10 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

afterAll(async () => {
  await stopPool(POOL);
  rmSync(state, { recursive: true, force: true });
});

test("sandbox down: destroy fails on a host that is gone, down reports it and still removes every host", async () => {
  const team = path.join(state, "two.yaml");
  writeFileSync(team, TEAM);
  const up = await cli("sandbox", "up", team);
  expect(up.code, up.stderr.slice(-2000)).toBe(0);
  const hosts = await poolStatus(POOL);
  expect(hosts.map((h) => `${h.name} ${h.reachable}`)).toEqual(["dev-marcus true", "dev-wes true"]);
  const gone = hosts.find((h) => h.name === "dev-wes")!;
  setHostLink(POOL, gone.address, "down");

  const down = await cli("sandbox", "down");
  expect(down.code, down.stderr.slice(-3000)).toBe(1);
  expect(down.stderr).toMatch(/sandbox down: pulumi destroy failed, the hosts were removed anyway/);
  expect(down.stderr).toContain(`${gone.address}:22`);
  expect(down.stdout).toMatch(/^sandbox: down/m);
  expect(await leftovers(POOL)).toEqual([]);
  const st = await cli("sandbox", "status", "--json");
  expect(JSON.parse(st.stdout)).toEqual([]);
});
