import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import type { TeamPlan } from "../../src/plan/access";
import { auditAccess } from "../../src/sandbox/probe";
import { sshExec } from "../../src/sandbox/hostPool";
import { shq } from "../../src/render/script";
import { asPerson, asRoot, bootTeam, configure, renderTeam, teardownTeam, upOps, type TeamEnv } from "./harness";

// The whole lifecycle of the example team on real hosts with the real engine:
// onboard → idempotent → grant → revoke → offboard → destroy. Every step is checked by
// its effect on the hosts, and by the least-privilege probe (actual sudo -l == plan).

const EXAMPLE = readFileSync("team.yaml", "utf8");
let env: TeamEnv;
let plan: TeamPlan;

/** The example team with edits applied to the parsed document. */
function edited(edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(EXAMPLE);
  edit(doc);
  return doc.toString();
}
const olgaIndex = () => (parseDocument(EXAMPLE).toJS().developers as { name: string }[]).findIndex((d) => d.name === "olga");

async function deploy(text: string) {
  const r = renderTeam(env, text);
  plan = r.plan;
  const stack = await configure(env, r.yaml);
  return upOps(stack);
}

async function expectLeastPrivilege(servers?: string[]) {
  const hosts = env.hosts.filter((h) => !servers || servers.includes(h.name));
  expect(await auditAccess(plan, hosts)).toEqual([]);
}

beforeAll(async () => {
  env = await bootTeam(["marcus", "nadia", "olga", "wes"]);
});
afterAll(async () => {
  await teardownTeam(env);
});

describe.sequential("lifecycle on real hosts", () => {
  test("onboard: users, keys, sudoers and sshd exactly as planned", async () => {
    const { ops } = await deploy(EXAMPLE);
    // Exactly the planned resources are created, nothing else and nothing twice.
    expect(ops).toEqual(plannedCreates(plan));
    // The plan behind it is the example team's: marcus (lead) hops to every server, olga
    // to her mentee's; wes and nadia reach no other server.
    expect(ops).toEqual(
      expect.arrayContaining([
        "create dev-marcus-hop-marcus",
        "create dev-olga-hop-olga",
        "create dev-nadia-sudoers-olga",
        "create dev-wes-user-marcus",
      ]),
    );
    expect(ops.filter((o) => /^create dev-(wes|nadia)-hop/.test(o))).toEqual([]);
    await expectLeastPrivilege();

    // Humans and agents exist where planned, and only there.
    expect(await asRoot(env, "dev-nadia", "getent passwd marcus olga nadia nadia-agent | cut -d: -f1 | sort | tr '\\n' ' '")).toBe(
      "marcus nadia nadia-agent olga ",
    );
    expect(await asRoot(env, "dev-wes", "getent passwd olga nadia || echo none")).toBe("none\n");
    // Homes: humans 0750, agents 0700, agents have no authorized_keys.
    expect(await asRoot(env, "dev-nadia", "stat -c '%n %a' /home/nadia /home/nadia-agent")).toBe(
      "/home/nadia 750\n/home/nadia-agent 700\n",
    );
    expect(await asRoot(env, "dev-nadia", "ls -A /home/nadia-agent/.ssh 2>/dev/null | grep -c authorized || true")).toBe("0\n");

    // The human drives their agent user and nothing else.
    expect((await asPerson(env, "nadia", "dev-nadia", "sudo -n -u nadia-agent id -un")).stdout).toBe("nadia-agent\n");
    expect((await asPerson(env, "nadia", "dev-nadia", "sudo -n -u root true")).code).not.toBe(0);
    expect((await asPerson(env, "marcus", "dev-nadia", "sudo -n -u nadia true")).code).not.toBe(0);
    expect((await asPerson(env, "marcus", "dev-nadia", "sudo -n -u nadia-agent id -un")).stdout).toBe("nadia-agent\n");
    // Agents can't read the human's home, the human can't read the agent's.
    expect((await asPerson(env, "nadia", "dev-nadia", "ls /home/nadia-agent")).code).not.toBe(0);
    expect((await asPerson(env, "nadia", "dev-nadia", "sudo -n -u nadia-agent ls /home/nadia")).code).not.toBe(0);

    // sshd: effective values, and the agent users' Match block.
    const eff = await asRoot(env, "dev-wes", "sshd -T -C user=wes,host=x,addr=10.0.0.1");
    for (const line of [
      "passwordauthentication no",
      "permitrootlogin no",
      "kbdinteractiveauthentication no",
      "x11forwarding no",
      "loglevel VERBOSE",
      "maxauthtries 10",
      "pubkeyauthentication yes",
      // Keys only from the root-owned file; no forwarding (wes has no `forwarding: true`).
      "authorizedkeysfile /etc/ssh/agent-runtime/authorized_keys/%u",
      "disableforwarding yes",
    ]) {
      expect(eff.split("\n")).toContain(line);
    }
    const agentEff = await asRoot(env, "dev-wes", "sshd -T -C user=wes-agent,host=x,addr=10.0.0.1");
    expect(agentEff.split("\n")).toEqual(expect.arrayContaining(["disableforwarding yes", "permittty no"]));
    // Root and agent users can't log in; the provisioner account still can.
    const wes = env.hosts.find((h) => h.name === "dev-wes")!;
    expect((await sshExec(wes, "true", { user: "root" })).code).not.toBe(0);
    expect((await sshExec(wes, "true", { user: "wes-agent", keyPath: env.keys.wes })).code).not.toBe(0);
    expect((await sshExec(wes, "true", { user: "agent-runtime" })).code).toBe(0);

    // Hop: marcus reaches dev-wes from his own server with the key generated there.
    const hop = await asPerson(env, "marcus", "dev-marcus", "ssh -o BatchMode=yes dev-wes sudo -n -u wes-agent id -un");
    expect(hop.stderr + hop.stdout).toContain("wes-agent");
    expect(await asRoot(env, "dev-marcus", "test -f /home/marcus/.ssh/agent-runtime-hop && echo private-key-stays-here")).toBe(
      "private-key-stays-here\n",
    );
    expect(await asRoot(env, "dev-wes", "grep -c 'marcus-hop@' /etc/ssh/agent-runtime/authorized_keys/marcus")).toBe("1\n");
    // A developer has no hop config (reaches no other server).
    expect(await asRoot(env, "dev-wes", "test -e /home/wes/.ssh/agent-runtime.conf && echo yes || echo no")).toBe("no\n");

    // Stack outputs: ready ~/.ssh/config blocks per human.
    const out = await env.stack!.outputs();
    const servers = out.servers!.value as Record<string, { address: string; sshConfig: Record<string, string> }>;
    expect(servers["dev-wes"]!.address).toBe(wes.address);
    expect(servers["dev-wes"]!.sshConfig.marcus).toContain(`HostName ${wes.address}`);
  });

  test("idempotent: a second up changes nothing and runs no remote command", async () => {
    const { ops } = await upOps(env.stack!);
    expect(ops).toEqual([]);
  });

  test("grant: olga mentors wes → only olga's user and sudoers on dev-wes (and her hop list) change", async () => {
    const i = olgaIndex();
    const { ops } = await deploy(edited((d) => d.setIn(["developers", i, "mentees"], d.createNode(["nadia", "wes"]))));
    expect(ops).toEqual(["create dev-wes-sudoers-olga", "create dev-wes-user-olga", "update dev-olga-hop-olga"]);
    expect((await asPerson(env, "olga", "dev-wes", "sudo -n -u wes-agent id -un")).stdout).toBe("wes-agent\n");
    expect(await asRoot(env, "dev-wes", "cat /etc/sudoers.d/agent-runtime-user-olga")).toMatch(/^olga ALL=\(wes-agent\) NOPASSWD: ALL$/m);
    await expectLeastPrivilege();
  });

  test("revoke: removing the mentee removes exactly that access", async () => {
    const { ops } = await deploy(EXAMPLE);
    expect(ops).toEqual(["delete dev-wes-sudoers-olga", "delete dev-wes-user-olga", "update dev-olga-hop-olga"]);
    expect((await asPerson(env, "olga", "dev-wes", "sudo -n -u wes-agent true")).code).not.toBe(0);
    expect(await asRoot(env, "dev-wes", "ls /etc/sudoers.d/ | grep -c olga || true")).toBe("0\n");
    // Her account's files are archived, not lost.
    expect(await asRoot(env, "dev-wes", "ls /var/backups/agent-runtime/ | grep -c '^olga-' ")).toBe("1\n");
    // Nothing else moved: nadia's mentor access is intact.
    expect((await asPerson(env, "olga", "dev-nadia", "sudo -n -u nadia-agent id -un")).stdout).toBe("nadia-agent\n");
    await expectLeastPrivilege();
  });

  test("offboard: removing nadia stops her sessions, archives her homes and logs, removes her access everywhere", async () => {
    const started = await asPerson(env, "nadia", "dev-nadia", "agentctl new --name work -- sleep 3000");
    expect(started.code, started.stderr).toBe(0);
    const tmuxPid = (await asRoot(env, "dev-nadia", "pgrep -u nadia-agent -f 'tmux .*-L agents' | head -1")).trim();
    expect(tmuxPid).toMatch(/^\d+$/);
    // marcus attaches-like activity gets I/O logged under his name.
    await asPerson(env, "marcus", "dev-nadia", "sudo -n -u nadia-agent true");

    const withoutNadia = edited((d) => {
      const devs = d.get("developers") as { items: { get: (k: string) => unknown }[] };
      const idx = devs.items.findIndex((n) => n.get("name") === "nadia");
      d.deleteIn(["developers", idx]);
      d.deleteIn(["developers", olgaIndex(), "mentees"]);
    });
    const { ops } = await deploy(withoutNadia);
    // Only dev-nadia's resources and the hop lists that named dev-nadia change.
    for (const op of ops)
      expect(op).toMatch(/^(delete dev-nadia(-.*)?|update dev-marcus-hop-marcus|delete dev-olga-hop-olga|delete dev-olga-hopkey-olga)$/);
    expect(ops).toContain("delete dev-nadia-user-nadia");
    expect(ops).toContain("delete dev-nadia-agent-nadia-agent");

    expect(await asRootVia(env, "dev-nadia", `test -e /proc/${tmuxPid} && echo running || echo stopped`)).toBe("stopped\n");
    expect(await asRootVia(env, "dev-nadia", "getent passwd nadia nadia-agent marcus olga agent-runtime || echo none")).toBe("none\n");
    const archives = await asRootVia(env, "dev-nadia", "ls /var/backups/agent-runtime/");
    for (const who of ["nadia", "nadia-agent", "marcus", "olga"])
      expect(archives).toMatch(new RegExp(`^${who}-\\d{8}T\\d{6}Z\\.tar\\.gz$`, "m"));
    expect(
      await asRootVia(env, "dev-nadia", "tar -tzf /var/backups/agent-runtime/marcus-*.tar.gz | grep -c '^./sudo-io/' || true"),
    ).not.toBe("0\n");
    // Other developers untouched.
    expect((await asPerson(env, "wes", "dev-wes", "sudo -n -u wes-agent id -un")).stdout).toBe("wes-agent\n");
    await expectLeastPrivilege(["dev-marcus", "dev-olga", "dev-wes"]);
  });

  test("destroy: everything made on the hosts is removed, archives stay", async () => {
    await env.stack!.destroy();
    for (const h of env.hosts) {
      const r = await sshExec(
        h,
        "bash -c " +
          shq(
            "getent passwd marcus olga wes nadia agent-runtime; ls /etc/sudoers.d/ | grep agent-runtime; ls /etc/ssh/sshd_config.d/ | grep agent-runtime; echo END",
          ),
        { user: "root" },
      );
      expect(r.code, `${h.name}: ${r.stderr}`).toBe(0); // root logs in again: our sshd drop-in is gone
      expect(r.stdout).toBe("END\n");
    }
    const wes = env.hosts.find((h) => h.name === "dev-wes")!;
    expect((await sshExec(wes, "ls /var/backups/agent-runtime/", { user: "root" })).stdout).toMatch(/^wes-agent-/m);
  });
});

/** "create <name>" for every resource a first `up` of `p` makes on existing hosts, sorted like
 *  collectOps: the engine's default provider of the ssh executor's dynamic resources
 *  ("default"), the AgentRuntime component and its executor lock (components/agentRuntime.ts),
 *  and per server its DevServer component and the steps of components/devServer.ts,
 *  linuxUsers.ts and sudoers.ts. */
function plannedCreates(p: TeamPlan): string[] {
  const names = ["default", p.team, `${p.team}-executor`];
  for (const s of p.servers) {
    const n = s.name;
    names.push(
      n,
      `${n}-access`,
      `${n}-ready`,
      `${n}-admin`,
      `${n}-lib`,
      `${n}-runtime`,
      `${n}-sshd`,
      `${n}-audit`,
      `${n}-agentctl`,
      `${n}-archives`,
      `${n}-sudoers-defaults`,
    );
    names.push(...s.humans.map((h) => `${n}-user-${h.name}`));
    names.push(...s.agents.map((a) => `${n}-agent-${a.name}`));
    names.push(...new Set(s.grants.map((g) => `${n}-sudoers-${g.human}`)));
    if (s.hopsTo.length > 0) names.push(`${n}-hopkey-${s.owner}`, `${n}-hop-${s.owner}`);
  }
  return names.map((x) => `create ${x}`).sort();
}

/** Root on a host whose provisioner account may already be gone: use the pool's root login. */
async function asRootVia(e: TeamEnv, server: string, command: string): Promise<string> {
  const h = e.hosts.find((x) => x.name === server)!;
  const r = await sshExec(h, `bash -c ${shq(command)}`, { user: "root" });
  if (r.code !== 0) throw new Error(`${server}: ${command}: ${r.stderr}`);
  return r.stdout;
}
