import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import { runtimeScript } from "../../src/render/runtime";
import { renderAuditBaseRules, renderAuditdSettings, renderAuditWatches } from "../../src/render/audit";
import { renderAgentAuditRules, renderEtPin } from "../../src/render/runtime";
import { sshExec } from "../../src/sandbox/hostPool";
import { ensureEtFixture, ET_FIXTURE_APT_LINE, etFixtureDecoyKey, etFixtureVersion } from "../../src/sandbox/etFixture";
import { ADMIN, asPerson, asRoot, bootTeam, configure, renderTeam, SUBNET, SUITE, teardownTeam, upOps, type TeamEnv } from "./harness";

// The runtime on each server, with the real engine on real local hosts: Eternal
// Terminal from a pinned apt source (a local signed repo fixture with a stand-in `et`
// package: the mechanism is real, et itself is not), agent sessions inside the agent
// user's limited slice, a lead reaching them (I/O logged), limits changed in place,
// audit rules and persistent journald. Every check reads an effect on the host.

const TEAM = `team: rt
defaults:
  provider: existing
  limits: { cpu: 2, memory: 1G, memoryHigh: 800M, tasks: 256 }
developers:
  - name: marcus
    role: lead
    sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeAV9+bivce34OvRktLLW9w58Ux8rLumXvqsyUNNuQq marcus@laptop]
  - name: wes
    sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFStgbhP2/C3mE7l3MxoV148ggv+gTdSVB29sh+idgmX wes@laptop]
`;
const WES = "dev-wes";
let env: TeamEnv;
let et: { aptLine: string; signingKey: string };
let tmuxPid = "";

async function deploy(text: string, etSource = et) {
  const stack = await configure(env, renderTeam(env, text, etSource).yaml);
  return upOps(stack);
}

/** `systemctl show` of the agent user's slice, as a property map. */
async function sliceLimits(server: string, agent: string): Promise<Record<string, string>> {
  const uid = (await asRoot(env, server, `id -u ${agent}`)).trim();
  const out = await asRoot(env, server, `systemctl show user-${uid}.slice -p CPUQuotaPerSecUSec -p MemoryMax -p MemoryHigh -p TasksMax`);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

const MiB = 1024 ** 2;

beforeAll(async () => {
  env = await bootTeam(["marcus", "wes"]);
  et = await ensureEtFixture(env.hosts, SUBNET);
});
afterAll(async () => {
  await teardownTeam(env);
});

describe.sequential("runtime on real hosts", () => {
  test("a wrong pinned et key: up fails with apt's signature error and et is not installed", async () => {
    const decoy = etFixtureDecoyKey();
    expect(decoy.trim()).not.toBe(et.signingKey.trim());
    const stack = await configure(env, renderTeam(env, TEAM, { aptLine: et.aptLine, signingKey: decoy }).yaml);
    let output = "";
    const err = await stack.up({ onOutput: (s) => (output += s) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "up must fail").toBeInstanceOf(Error);
    const text = `${String(err)}\n${output}`;
    // apt 2.6 (Debian 12) verifies with gpgv, apt 3.0 (Debian 13) with sqv: same refusal, other words.
    expect(text).toMatch(SUITE === "trixie" ? /sqv returned an error code \(1\).*Missing key [0-9A-F]{40}/ : /NO_PUBKEY [0-9A-F]{16}/);
    expect(text).toMatch(/The repository 'file:\/srv\/agent-runtime-et-repo \.\/ InRelease' is not signed/);
    for (const server of ["dev-marcus", WES]) {
      expect(await asRoot(env, server, "dpkg-query -W -f='${Status}' et 2>/dev/null || echo absent")).toBe("absent\n");
      expect(await asRoot(env, server, "test -e /usr/bin/etserver && echo present || echo absent")).toBe("absent\n");
    }
  });

  test("the right key: et installed from the pinned source, configured, enabled and running", async () => {
    const { ops } = await deploy(TEAM);
    expect(ops).toContain("create dev-wes-runtime");
    for (const server of ["dev-marcus", WES]) {
      expect(await asRoot(env, server, "dpkg-query -W -f='${Version}' et")).toBe(etFixtureVersion());
      expect(await asRoot(env, server, "cat /etc/apt/sources.list.d/agent-runtime-et.list")).toBe(`${ET_FIXTURE_APT_LINE}\n`);
      expect(await asRoot(env, server, "cat /etc/apt/keyrings/agent-runtime-et.asc")).toBe(`${et.signingKey.trimEnd()}\n`);
      // The pin: only et may come from that source (its effect is checked with apt itself in test/unit/etPin.test.ts).
      expect(await asRoot(env, server, "cat /etc/apt/preferences.d/agent-runtime-et")).toBe(
        renderEtPin({ port: 2022, source: "apt-repo", ...et }),
      );
      const cfg = await asRoot(env, server, "cat /etc/et.cfg");
      expect(cfg).toMatch(/^port = 2022$/m);
      expect(cfg).toMatch(/^telemetry = 0$/m);
      expect(await asRoot(env, server, "systemctl is-enabled et.service; systemctl is-active et.service")).toBe("enabled\nactive\n");
      // The service runs the packaged server with the config we wrote.
      expect(
        await asRoot(env, server, "systemctl show et.service -p MainPID --value | xargs -I{} cat /proc/{}/cmdline | tr '\\0' ' '"),
      ).toMatch(/\/usr\/bin\/etserver --cfgfile=\/etc\/et\.cfg/);
    }
  });

  test("limits: the launcher puts the agent's tmux server in user-<uid>.slice; so does plain sudo", async () => {
    const started = await asPerson(env, "wes", WES, "agentctl new --name demo -- sleep 1000");
    expect(started.code, started.stderr).toBe(0);
    const agentUid = (await asRoot(env, WES, "id -u wes-agent")).trim();
    const wesUid = (await asRoot(env, WES, "id -u wes")).trim();
    const pids = (await asRoot(env, WES, "pgrep -u wes-agent -f 'tmux .*-L agents'")).trim().split("\n");
    expect(pids).toHaveLength(1);
    tmuxPid = pids[0]!;
    const cgroup = await asRoot(env, WES, `cat /proc/${tmuxPid}/cgroup`);
    expect(cgroup).toContain(`/user.slice/user-${agentUid}.slice/user@${agentUid}.service/`);
    expect(await sliceLimits(WES, "wes-agent")).toEqual({
      CPUQuotaPerSecUSec: "2s",
      MemoryMax: String(1024 * MiB),
      MemoryHigh: String(800 * MiB),
      TasksMax: "256",
    });

    // The pitfall the launcher once existed for: a plain `sudo -u wes-agent tmux` used to
    // stay in the caller's login session. The PAM hook now moves it into the agent's slice.
    const plain = await asPerson(env, "wes", WES, "cd / && sudo -n -u wes-agent tmux -L other new-session -d sleep 100");
    expect(plain.code, plain.stderr).toBe(0);
    const otherPid = (await asRoot(env, WES, "pgrep -u wes-agent -f 'tmux -L other'")).trim();
    const other = await asRoot(env, WES, `cat /proc/${otherPid}/cgroup`);
    expect(other).toMatch(new RegExp(`/user\\.slice/user-${agentUid}\\.slice/agent-runtime:wes:wes-agent:\\d+\\.scope$`, "m"));
    expect(other).not.toContain(`user-${wesUid}.slice`);
    await asRoot(env, WES, "sudo -n -u wes-agent tmux -L other kill-server");
  });

  test("a lead lists and reaches the session; the lead's sudo is I/O logged, the owner's is not", async () => {
    expect(await asRoot(env, WES, "test -e /var/log/sudo-io/marcus && echo yes || echo no")).toBe("no\n");
    const ls = await asPerson(env, "marcus", WES, "agentctl ls --json");
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as { sessions: { agent_user: string; session: string; launched_by: string }[] }).sessions).toEqual([
      expect.objectContaining({ agent_user: "wes-agent", session: "demo", launched_by: "wes" }),
    ]);
    const has = await asPerson(env, "marcus", WES, "sudo -n -u wes-agent tmux -L agents has-session -t demo");
    expect(has.code, has.stderr).toBe(0);
    // agentctl's probe (ls) is not recorded: only the has-session above is.
    // Not a person's human user: marcus may not become wes.
    expect((await asPerson(env, "marcus", WES, "sudo -n -u wes true")).code).not.toBe(0);
    // sudo's I/O logs: one directory per recorded session (iolog_dir/seq): the has-session.
    expect(Number(await asRoot(env, WES, "find /var/log/sudo-io/marcus -name log | wc -l"))).toBe(1);
    expect(await asRoot(env, WES, "test -e /var/log/sudo-io/wes && echo yes || echo no")).toBe("no\n");
  });

  test("limits change in place: only wes's agent step runs, the session survives, the slice carries the new values", async () => {
    const doc = parseDocument(TEAM);
    const wes = (doc.toJS().developers as { name: string }[]).findIndex((d) => d.name === "wes");
    doc.setIn(["developers", wes, "limits"], doc.createNode({ cpu: 1.5, memory: "2G", memoryHigh: "1536M", tasks: 512 }));
    const { ops } = await deploy(doc.toString());
    expect(ops).toEqual(["update dev-wes-agent-wes-agent"]);
    expect((await asRoot(env, WES, "pgrep -u wes-agent -f 'tmux .*-L agents'")).trim()).toBe(tmuxPid);
    expect(await asRoot(env, WES, "sudo -n -u wes-agent tmux -L agents list-sessions -F '#{session_name}'")).toBe("demo\n");
    expect(await sliceLimits(WES, "wes-agent")).toEqual({
      CPUQuotaPerSecUSec: "1.500000s",
      MemoryMax: String(2048 * MiB),
      MemoryHigh: String(1536 * MiB),
      TasksMax: "512",
    });
    // marcus's agent on his own server kept the defaults.
    expect((await sliceLimits("dev-marcus", "marcus-agent")).TasksMax).toBe("256");
  });

  test("audit and journald: rules exactly as rendered, auditd reported honestly in a container", async () => {
    for (const [server, owner] of [
      ["dev-marcus", "marcus"],
      [WES, "wes"],
    ] as const) {
      expect(await asRoot(env, server, "systemd-detect-virt -c")).not.toBe("none\n");
      expect(await asRoot(env, server, "cat /etc/audit/rules.d/50-agent-runtime.rules")).toBe(renderAuditWatches());
      expect(await asRoot(env, server, "cat /etc/audit/rules.d/zz-agent-runtime-base.rules")).toBe(renderAuditBaseRules());
      // The enforced auditd.conf lines, each exactly once.
      const conf = await asRoot(env, server, "cat /etc/audit/auditd.conf");
      for (const line of renderAuditdSettings()
        .trim()
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))) {
        expect(
          conf.split("\n").filter((l) => l.replace(/\s+/g, " ").trim() === line.replace(/\s+/g, " ").trim()),
          line,
        ).toHaveLength(1);
      }
      expect(await asRoot(env, server, "stat -c '%U:%G %a' /var/log/audit")).toBe("root:root 700\n");
      expect(await asRoot(env, server, `cat /etc/audit/rules.d/60-agent-runtime-${owner}-agent.rules`)).toBe(
        renderAgentAuditRules(`${owner}-agent`, owner),
      );
      expect(await asRoot(env, server, "ls /etc/audit/rules.d/ | grep agent-runtime")).toBe(
        `50-agent-runtime.rules\n60-agent-runtime-${owner}-agent.rules\nzz-agent-runtime-base.rules\n`,
      );
      expect(await asRoot(env, server, "cat /etc/systemd/journald.conf.d/50-agent-runtime.conf")).toMatch(
        /^\[Journal\]\nStorage=persistent$/m,
      );
      // journald took it: the journal is on disk, not in /run.
      expect(await asRoot(env, server, 'test -d "/var/log/journal/$(cat /etc/machine-id)" && echo persistent')).toBe("persistent\n");
    }
    const servers = (await env.stack!.outputs()).servers!.value as Record<string, { runtime: string }>;
    for (const s of ["dev-marcus", WES]) {
      expect(servers[s]!.runtime).toBe(`et: installed (${etFixtureVersion()}), active; auditd: installed, not running (container)`);
    }
  });

  test("idempotent: a second up has no operations; the runtime script run again restarts nothing", async () => {
    const { ops } = await upOps(env.stack!);
    expect(ops).toEqual([]);
    // The step re-runs whenever et settings change: it must not drop live et connections
    // or restart journald when its own files are already right.
    const pids = "systemctl show -p MainPID --value et.service systemd-journald.service";
    const before = await asRoot(env, WES, pids);
    const host = env.hosts.find((h) => h.name === WES)!;
    // A hardened host refuses root: copying the fixture again (sandbox re-runs) goes
    // through the provisioner account instead.
    expect((await sshExec(host, "true", { user: "root" })).code).toBe(255);
    await ensureEtFixture(env.hosts, SUBNET);
    const again = await sshExec(host, "sudo -n bash -s", { user: ADMIN, input: runtimeScript({ port: 2022, source: "apt-repo", ...et }) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe(""); // no "wrote …", no "installing …"
    expect(await asRoot(env, WES, pids)).toBe(before);
  });
});
