import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { shq } from "../../src/render/script";
import { sshExec } from "../../src/sandbox/hostPool";
import { asPerson, asRoot, bootTeam, configure, renderTeam, teardownTeam, upOps, type TeamEnv } from "./harness";

// Lockout safety: a broken sudoers or sshd render (injected through the test-only
// `testFaults` config) is never installed, the run fails naming the host and the
// validator's message, and the host stays reachable with sudo working.

const TEAM = `team: lockout
defaults:
  provider: existing
developers:
  - name: marcus
    role: lead
    sshKeys: [placeholder]
  - name: wes
    sshKeys: [placeholder]
`;
let env: TeamEnv;

beforeAll(async () => {
  env = await bootTeam(["marcus", "wes"]);
});
afterAll(async () => {
  await teardownTeam(env);
});

async function upError(faults: object): Promise<string> {
  const stack = await configure(env, renderTeam(env, TEAM).yaml, faults);
  try {
    await upOps(stack);
  } catch (e) {
    return String((e as Error).message);
  }
  throw new Error("up succeeded although a broken render was injected");
}

async function stillReachable() {
  expect((await asPerson(env, "wes", "dev-wes", "sudo -n -u wes-agent id -un")).stdout).toBe("wes-agent\n");
  expect(await asRoot(env, "dev-wes", "visudo -c >/dev/null && sshd -t && echo fine")).toBe("fine\n");
}

describe.sequential("broken renders are never installed", () => {
  test("broken sudoers file: visudo rejects it, the run fails naming host and message", async () => {
    const message = await upError({ sudoers: ["marcus"] });
    // marcus's file is broken on both servers; the engine stops at the first failure.
    const failed = /(dev-(?:wes|marcus))-sudoers-marcus \*\*creating failed\*\*/.exec(message)?.[1];
    expect(failed, message).toBeDefined();
    const host = env.hosts.find((h) => h.name === failed)!;
    expect(message).toContain(`agent-runtime@${host.address}:22`);
    // The script names server and address itself, so this wording holds for either executor.
    expect(message).toMatch(
      new RegExp(
        `sudoers agent-runtime-user-marcus on ${failed} \\(agent-runtime@${host.address.replace(/\./g, "\\.")}:22\\): ERROR: visudo rejected the new /etc/sudoers\\.d/agent-runtime-user-marcus, nothing installed`,
      ),
    );
    expect(message).toMatch(/agent-runtime-user-marcus:\d+:\d+: syntax error/);
    for (const server of ["dev-wes", "dev-marcus"]) {
      expect(await asRoot(env, server, "ls -A /etc/sudoers.d/")).not.toMatch(/agent-runtime-user-marcus/); // never installed, no temp files
    }
    // The fix lands on the next up.
    await upOps(await configure(env, renderTeam(env, TEAM).yaml));
    expect((await asPerson(env, "marcus", "dev-wes", "sudo -n -u wes-agent id -un")).stdout).toBe("wes-agent\n");
    await stillReachable();
  });

  test("broken sshd drop-in: sshd -t rejects it, the previous drop-in is restored, logins keep working", async () => {
    const before = await asRoot(env, "dev-wes", "cat /etc/ssh/sshd_config.d/00-agent-runtime.conf");
    const message = await upError({ sshd: true });
    expect(message).toContain("dev-wes-sshd");
    expect(message).toMatch(/sshd -t rejected the new configuration: [^]*; previous state restored/);
    expect(message).toMatch(/ThisIsNotAnSshdKeyword/);
    expect(await asRoot(env, "dev-wes", "cat /etc/ssh/sshd_config.d/00-agent-runtime.conf")).toBe(before);
    expect(await asRoot(env, "dev-wes", "sshd -T | grep -E '^(passwordauthentication|permitrootlogin) '")).toBe(
      "permitrootlogin no\npasswordauthentication no\n",
    );
    await stillReachable();
    // A new ssh connection after the failed run: the daemon still accepts keys.
    const host = env.hosts.find((h) => h.name === "dev-wes")!;
    expect((await sshExec(host, "true", { user: "marcus", keyPath: env.keys.marcus })).code).toBe(0);
  });

  test("a changed host key stops up before any step runs on that host, naming it", async () => {
    const wes = env.hosts.find((h) => h.name === "dev-wes")!;
    const limitsBefore = await asRoot(env, "dev-wes", "cat /etc/systemd/system/user-*.slice.d/50-agent-runtime.conf");
    // The machine at that address now presents another key (rebuilt, or an impostor).
    const newKey = await asRoot(
      env,
      "dev-wes",
      "mkdir -p /root/hostkeys && cp -p /etc/ssh/ssh_host_* /root/hostkeys/ && rm /etc/ssh/ssh_host_* && ssh-keygen -q -A && systemctl reload ssh && cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub",
    );
    const known = path.join(env.dir, "new_known_hosts");
    writeFileSync(known, `${wes.address} ${/^ssh-ed25519 \S+$/m.exec(newKey)![0]}\n`);
    const asRootNewKey = async (cmd: string) => {
      const r = await sshExec({ ...wes, knownHostsPath: known }, `sudo -n bash -c ${shq(cmd)}`, { user: "agent-runtime" });
      if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
      return r.stdout;
    };
    try {
      // A change that runs a step on dev-wes: its agent's limits.
      const changed = renderTeam(env, TEAM).yaml.replace(
        "team: lockout\ndefaults:\n",
        "team: lockout\ndefaults:\n  limits: { tasks: 999 }\n",
      );
      let message = "";
      await upOps(await configure(env, changed)).catch((e: unknown) => (message = String((e as Error).message)));
      expect(message, "up must fail").not.toBe("");
      expect(message).toContain(`${wes.address}:22 presented a host key that does not match the pinned one; nothing was run there`);
      expect(message).toMatch(/dev-wes-agent-wes-agent \*\*updating failed\*\*/);
      expect(await asRootNewKey("cat /etc/systemd/system/user-*.slice.d/50-agent-runtime.conf")).toBe(limitsBefore);
    } finally {
      await asRootNewKey("cp -p /root/hostkeys/ssh_host_* /etc/ssh/ && rm -r /root/hostkeys && systemctl reload ssh");
    }
    await upOps(await configure(env, renderTeam(env, TEAM).yaml));
    await stillReachable();
  });

  test("switching the executor on a stack with steps is refused before anything changes", async () => {
    const stack = await configure(env, renderTeam(env, TEAM).yaml);
    await stack.setConfig("agent-runtime:executor", { value: "command" });
    await stack.setConfig("agent-runtime:adminPrivateKey", { value: readFileSync(env.adminKey, "utf8"), secret: true });
    const usersBefore = await asRoot(env, "dev-wes", "getent passwd marcus wes wes-agent agent-runtime | cut -d: -f1");
    let message = "";
    await stack.up({ onOutput: () => undefined }).catch((e: unknown) => (message = String((e as Error).message)));
    expect(message, "up must fail").toMatch(/agent-runtime:executor is "command" but this stack's steps were made with "ssh"/);
    expect(message).toMatch(/Nothing was changed/);
    expect(message).not.toMatch(/deleting|deleted/);
    expect(await asRoot(env, "dev-wes", "getent passwd marcus wes wes-agent agent-runtime | cut -d: -f1")).toBe(usersBefore);
    // Back to the executor the stack was made with: nothing to do.
    await stack.setConfig("agent-runtime:executor", { value: "ssh" });
    await stack.removeConfig("agent-runtime:adminPrivateKey");
    // Only the dynamic provider's own config record moves back (it carries the stack config).
    expect((await upOps(stack)).ops.filter((o) => o !== "update default")).toEqual([]);
    await stillReachable();
  });
});
