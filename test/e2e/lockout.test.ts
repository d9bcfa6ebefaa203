import { afterAll, beforeAll, describe, expect, test } from "vitest";
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
    expect(message).toMatch(new RegExp(`sudoers agent-runtime-user-marcus on ${failed}: ERROR: visudo rejected the new /etc/sudoers\\.d/agent-runtime-user-marcus, nothing installed`));
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
    expect(await asRoot(env, "dev-wes", "sshd -T | grep -E '^(passwordauthentication|permitrootlogin) '")).toBe("permitrootlogin no\npasswordauthentication no\n");
    await stillReachable();
    // A new ssh connection after the failed run: the daemon still accepts keys.
    const host = env.hosts.find((h) => h.name === "dev-wes")!;
    expect((await sshExec(host, "true", { user: "marcus", keyPath: env.keys.marcus })).code).toBe(0);
  });
});
