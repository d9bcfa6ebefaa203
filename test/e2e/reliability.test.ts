import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import type { TeamPlan } from "../../src/plan/access";
import { engineEnv, TOOLCHAIN_BIN } from "../../src/sandbox/engine";
import type { PoolHost } from "../../src/sandbox/hostPool";
import { auditAccess } from "../../src/sandbox/probe";
import { helpers, renderScript } from "../../src/render/script";
import { asPerson, asRoot, bootTeam, configure, POOL, renderTeam, setHostLink, teardownTeam, upOps, type TeamEnv } from "./harness";

// The reliability suite (issue 14, part 3) on real hosts with the real engine, one pool
// for the whole file: the example team on four hosts plus a spare that replaces a dead one.
//   drift: hand edits of the four kinds of managed file, detected and repaired;
//   a host down while `up` runs, then back;  an `up` killed mid-run;
//   a dead server replaced with `forget-server`.
// "Down" and "dead" are a host's link cut inside its network namespace: nothing answers at
// its address, exactly as for a machine that is off.

const EXAMPLE = readFileSync("team.yaml", "utf8");
const SPARE = "dev-spare";
const SPARE2 = "dev-spare2";
let env: TeamEnv;
let plan: TeamPlan;

const stateDir = () => path.join(env.dir, "engine");
const target = () => ["--cwd", path.join(stateDir(), "work"), "--stack", "e2e"];
const hostOf = (server: string) => env.hosts.find((h) => h.name === server)!;

function edited(edit: (doc: ReturnType<typeof parseDocument>) => void, text = EXAMPLE): string {
  const doc = parseDocument(text);
  edit(doc);
  return doc.toString();
}
const devIndex = (name: string) => (parseDocument(EXAMPLE).toJS().developers as { name: string }[]).findIndex((d) => d.name === name);

async function deploy(text: string) {
  const r = renderTeam(env, text);
  plan = r.plan;
  return upOps(await configure(env, r.yaml));
}

/** `bin/agent-runtime ARGS` against this file's stack (its private PULUMI_HOME and backend). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "bin/agent-runtime",
      args,
      { env: { ...process.env, ...engineEnv(stateDir()) }, timeout: 10 * 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const setLink = (host: PoolHost, state: "up" | "down") => setHostLink(POOL, host.address, state);

/** A function that finds `name` under `dir` (recursively) when called; undefined until it exists. */
function findFile(dir: string, name: string): () => string | undefined {
  const search = (d: string): string | undefined => {
    for (const e of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        const found = search(p);
        if (found) return found;
      } else if (e.name === name) return p;
    }
    return undefined;
  };
  return () => search(dir);
}

/** Every live descendant of `pid`, from /proc (parents before children). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length;) {
    frontier = [...parent].filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    out.push(...frontier);
  }
  return out;
}

// Everything agent-runtime manages on a server, as `hash mode owner path` lines.
const FINGERPRINT = String.raw`
for f in /etc/passwd /etc/group /etc/sudoers.d/* /etc/ssh/sshd_config.d/* /etc/ssh/agent-runtime/authorized_keys/* \
  /etc/systemd/system/user-*.slice.d/* /etc/audit/rules.d/* /home/*/.ssh/agent-runtime.conf /home/*/.ssh/agent-runtime_known_hosts; do
  [[ -f $f ]] && echo "$(sha256sum <"$f" | cut -c1-16) $(stat -c '%a %U' "$f") $f"
done; true`;
const fingerprint = async (server: string) => (await asRoot(env, server, FINGERPRINT)).trim().split("\n");

/** No half-written or leftover file: sudo and sshd accept their whole configuration, no temp files. */
async function expectConfigsWhole(servers: string[]) {
  for (const s of servers) {
    const out = await asRoot(
      env,
      s,
      "visudo -c >/dev/null && echo sudo-ok; mkdir -p /run/sshd; sshd -t && echo sshd-ok; find /etc/sudoers.d /etc/ssh/sshd_config.d -name '.*' -type f",
    );
    expect(out.trim(), s).toBe("sudo-ok\nsshd-ok");
  }
}

const SERVERS = ["dev-marcus", "dev-nadia", "dev-olga", "dev-wes"];

beforeAll(async () => {
  env = await bootTeam(["marcus", "nadia", "olga", "wes"], [SPARE, SPARE2]);
});
afterAll(async () => {
  await teardownTeam(env);
});

describe.sequential("reliability on real hosts", () => {
  test("onboard the example team; drift finds nothing on fresh servers", async () => {
    await deploy(EXAMPLE);
    const drift = await cli("drift", "--json", ...target());
    expect(drift.code, drift.stderr).toBe(0);
    const report = JSON.parse(drift.stdout) as { checked: number; findings: unknown[] };
    expect(report.findings).toEqual([]);
    // 4 sshd + 4 slices + sudoers (4 defaults + 8 per-human) + authorized_keys (8 humans)
    // + the shared helpers (4).
    expect(report.checked).toBe(32);
  });

  test("drift: hand edits of a sudoers file, the sshd drop-in, a slice drop-in and authorized_keys are detected, then repaired", async () => {
    const files = [
      "/etc/sudoers.d/agent-runtime-user-marcus",
      "/etc/ssh/sshd_config.d/00-agent-runtime.conf",
      `/etc/systemd/system/user-$(id -u wes-agent).slice.d/50-agent-runtime.conf`,
      "/etc/ssh/agent-runtime/authorized_keys/wes",
    ];
    const before = await fingerprint("dev-wes");
    const others = await Promise.all(["dev-marcus", "dev-nadia", "dev-olga"].map(fingerprint));
    await asRoot(
      env,
      "dev-wes",
      [
        `echo 'marcus ALL=(ALL) NOPASSWD: ALL' >> ${files[0]}`,
        `sed -i 's/^PasswordAuthentication no/PasswordAuthentication yes/' ${files[1]}`,
        `sed -i 's/^CPUQuota=.*/CPUQuota=1000%/' ${files[2]}`,
        `echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGX4bwS8HR2TVtq9tm8t6P5w5AGwJZ2ZtjJHGn9kBj3m intruder' >> ${files[3]}`,
      ].join(" && "),
    );
    const table = await cli("drift", ...target());
    expect(table.code, table.stderr).toBe(1);
    expect(table.stdout).toMatch(/^SERVER\s+FILE\s+KIND\s+STEP\s+PROBLEM$/m);
    const json = await cli("drift", "--json", ...target());
    expect(json.code).toBe(1);
    const found = (JSON.parse(json.stdout) as { findings: { server: string; step: string; kind: string; problem: string }[] }).findings;
    expect(found.map((f) => `${f.server} ${f.kind} ${f.step}`).sort()).toEqual([
      "dev-wes authorized_keys dev-wes-user-wes",
      "dev-wes slice drop-in dev-wes-agent-wes-agent",
      "dev-wes sshd drop-in dev-wes-sshd",
      "dev-wes sudoers dev-wes-sudoers-marcus",
    ]);
    for (const f of found) expect(f.problem).toBe("content differs from what agent-runtime wrote");

    const repair = await cli("drift", "--repair", "--json", ...target());
    expect(repair.code, repair.stderr.slice(-3000)).toBe(0);
    // Exactly the four drifted steps ran again, as updates (never a replacement, whose undo would remove users).
    expect(repair.stderr).toMatch(/4 updated/);
    expect(repair.stderr).not.toMatch(/replaced|deleted|created/);
    expect(await fingerprint("dev-wes")).toEqual(before);
    expect(await Promise.all(["dev-marcus", "dev-nadia", "dev-olga"].map(fingerprint))).toEqual(others);
    expect(await asRoot(env, "dev-wes", "systemctl show -p CPUQuotaPerSecUSec user-$(id -u wes-agent).slice")).toMatch(/=6s/);
    expect(await asRoot(env, "dev-wes", "sshd -T | grep -i '^passwordauthentication'")).toMatch(/no/);
    // The state agrees with the servers again: a plain up changes nothing.
    const again = await upOps(env.stack!);
    expect(again.ops).toEqual([]);
  });

  test("the shared helpers removed by hand: a step fails naming the lib step; drift finds them; --repair re-runs only that step", async () => {
    const h = helpers();
    await asRoot(env, "dev-wes", `rm -f ${h.path}`);
    // Any step now refuses to run, and says which step installs the helpers.
    const step = `AR_WHERE='dev-wes (agent-runtime@${hostOf("dev-wes").address}:22)'\n${renderScript("sudoers/remove.sh", { AR_FILE: "agent-runtime-user-nobody" })}`;
    await expect(asRoot(env, "dev-wes", step)).rejects.toThrow(
      /the shared helpers this step needs are not usable: .*common-[0-9a-f]{12}\.sh is missing or not root's alone\. The dev-wes-lib step installs them: run `agent-runtime drift --repair`/,
    );
    const json = await cli("drift", "--json", ...target());
    expect(json.code).toBe(1);
    const found = (JSON.parse(json.stdout) as { findings: { server: string; step: string; kind: string; problem: string; path: string }[] })
      .findings;
    expect(found).toEqual([{ server: "dev-wes", step: "dev-wes-lib", kind: "shared helpers", path: h.path, problem: "missing" }]);
    const repair = await cli("drift", "--repair", "--json", ...target());
    expect(repair.code, repair.stderr.slice(-3000)).toBe(0);
    expect(repair.stderr).toMatch(/1 updated/);
    expect(repair.stderr).not.toMatch(/replaced|deleted|created/);
    expect(await asRoot(env, "dev-wes", `sha256sum <${h.path}; stat -c '%a %U:%G' ${h.path}`)).toBe(`${h.sha256}  -\n644 root:root\n`);
    expect((await upOps(env.stack!)).ops).toEqual([]);
  });

  test("a host down while up runs: the others complete, the error names host and step; once back, a re-run converges", async () => {
    const olga = hostOf("dev-olga");
    const r = renderTeam(
      env,
      edited((d) => d.setIn(["defaults", "limits", "cpu"], 5)),
    );
    plan = r.plan;
    const stack = await configure(env, r.yaml);
    let cut = false;
    let error = "";
    try {
      await stack.up({
        onEvent: (e) => {
          // The update is running: take dev-olga away before its steps reach it.
          if (!cut && e.resourcePreEvent) {
            cut = true;
            setLink(olga, "down");
          }
        },
      });
    } catch (err) {
      error = (err as Error).message;
    } finally {
      if (!cut) setLink(olga, "down"); // never reached: keep the finally below symmetric
      setLink(olga, "up");
    }
    expect(cut).toBe(true);
    expect(error).toMatch(/dev-olga-agent-olga-agent/);
    expect(error).toContain(`${olga.address}:22`);
    expect(error).not.toMatch(/dev-(marcus|nadia|wes)-\S+ \*\*\w+ failed/);
    // The step that failed is named with the engine's marker; why the connect failed
    // varies with timing (no route once ARP fails, a timed-out connect, a closed session).
    expect(error).toMatch(/dev-olga-agent-olga-agent \*\*updating failed\*\*/);
    for (const s of ["dev-marcus", "dev-nadia", "dev-wes"]) {
      const agent = `${s.slice(4)}-agent`;
      expect(await asRoot(env, s, `grep CPUQuota /etc/systemd/system/user-$(id -u ${agent}).slice.d/50-agent-runtime.conf`), s).toMatch(
        /CPUQuota=500%/,
      );
    }
    // Back: the re-run does exactly what was left, on dev-olga only.
    const rerun = await upOps(stack);
    expect(rerun.ops).toEqual(["update dev-olga-agent-olga-agent"]);
    expect(
      await asRoot(env, "dev-olga", "grep CPUQuota /etc/systemd/system/user-$(id -u olga-agent).slice.d/50-agent-runtime.conf"),
    ).toMatch(/CPUQuota=500%/);
    expect((await upOps(stack)).ops).toEqual([]);
  });

  test("an up killed mid-run: no half-written sudoers or sshd file; the documented recovery converges", async () => {
    // A grant (olga mentors wes too) and a limits change: sudoers and user steps on several servers.
    const text = edited((d) => {
      d.setIn(["developers", devIndex("olga"), "mentees"], d.createNode(["nadia", "wes"]));
      d.setIn(["defaults", "limits", "cpu"], 4);
    });
    const r = renderTeam(env, text);
    plan = r.plan;
    await configure(env, r.yaml);
    // The CLI itself (not the Automation API), killed with everything it started
    // (language host, providers, ssh), as a crash or a closed terminal would.
    const child = spawn(path.join(TOOLCHAIN_BIN, "pulumi"), ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "e2e"], {
      cwd: path.join(stateDir(), "work"),
      env: { ...process.env, ...engineEnv(stateDir()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let killed = false;
    const exited = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    // pulumi starts its language host and providers in process groups of their own: record
    // the whole tree under the child first, then kill each recorded PID (orphaned, the
    // language host would spin on its dead engine connection).
    const kill = () => {
      if (killed) return;
      killed = true;
      for (const pid of [child.pid!, ...descendants(child.pid!)]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone (exitedEarly says whether pulumi finished by itself)
        }
      }
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    // Kill once the checkpoint on disk records a step in flight (a pending operation),
    // polled every 100 ms for at most 2 minutes.
    const checkpoint = findFile(path.join(stateDir(), "backend", ".pulumi", "stacks"), "e2e.json");
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = !killed));
    for (let i = 0; i < 1200 && !killed && !exitedEarly; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const text = checkpoint() ? readFileSync(checkpoint()!, "utf8") : "";
      if (/"pending_operations":\s*\[\s*\{/.test(text)) kill();
    }
    kill();
    await exited;
    expect(exitedEarly, out).toBe(false);
    // Killed with a step in flight: the state records it as a pending operation.
    const pending = ((await env.stack!.exportStack()).deployment as { pending_operations?: unknown[] }).pending_operations ?? [];
    expect(pending.length, out).toBeGreaterThan(0);
    await expectConfigsWhole(SERVERS);
    // Recovery (README "Interrupted up"): the killed run left its lock and pending operations.
    const pulumi = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((res) =>
        execFile(
          path.join(TOOLCHAIN_BIN, "pulumi"),
          [...args, "--stack", "e2e", "--non-interactive"],
          { cwd: path.join(stateDir(), "work"), env: { ...process.env, ...engineEnv(stateDir()) }, timeout: 5 * 60_000 },
          (err, stdout, stderr) => res({ code: err ? 1 : 0, out: stdout + stderr }),
        ),
      );
    // Until then, up is refused: the dead run still holds the stack's lock.
    const locked = await pulumi("up", "--yes", "--skip-preview");
    expect(locked.code).toBe(1);
    expect(locked.out).toMatch(/the stack is currently locked[\s\S]*pulumi cancel/);
    const cancel = await pulumi("cancel", "--yes");
    expect(cancel.code, cancel.out).toBe(0);
    const refresh = await pulumi("refresh", "--clear-pending-creates", "--yes");
    expect(refresh.code, refresh.out).toBe(0);
    expect(((await env.stack!.exportStack()).deployment as { pending_operations?: unknown[] }).pending_operations ?? []).toEqual([]);
    const converged = await upOps(env.stack!);
    expect(
      converged.ops.every((o) => /^(create|update) /.test(o)),
      converged.ops.join("\n"),
    ).toBe(true);
    expect((await upOps(env.stack!)).ops).toEqual([]);
    await expectConfigsWhole(SERVERS);
    expect(
      await auditAccess(
        plan,
        env.hosts.filter((h) => SERVERS.includes(h.name)),
      ),
    ).toEqual([]);
    const drift = await cli("drift", ...target());
    expect(drift.code, drift.stdout).toBe(0);
  });

  test("a dead server replaced: forget-server, then up provisions the new host; elsewhere only hop configs change", async () => {
    const old = hostOf("dev-wes");
    const spare = hostOf(SPARE);
    const others = ["dev-marcus", "dev-nadia", "dev-olga"];
    const before = Object.fromEntries(await Promise.all(others.map(async (s) => [s, await fingerprint(s)] as const)));

    // While the server answers, forget-server refuses.
    const alive = await cli("forget-server", "dev-wes", "--yes", ...target());
    expect(alive.code).toBe(1);
    expect(alive.stderr).toContain(`${old.address}:22 answered`);

    setLink(old, "down");
    // Not a terminal and no --yes: shows what it would drop, drops nothing.
    const unconfirmed = await cli("forget-server", "dev-wes", ...target());
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stdout).toMatch(/dev-wes-sudoers-marcus/);
    expect(unconfirmed.stderr).toMatch(/pass --yes/);
    const forget = await cli("forget-server", "dev-wes", "--yes", ...target());
    expect(forget.code, forget.stderr).toBe(0);
    expect(forget.stdout).toContain(`${old.address}:22 does not answer`);
    expect(forget.stdout).toMatch(/^ {2}- dev-wes-sshd$/m);
    expect(forget.stdout).toMatch(/^ {2}- dev-wes-user-marcus$/m);
    expect(forget.stdout).not.toMatch(/^ {2}- dev-(marcus|nadia|olga)-/m);

    // team.yaml now names the new host (its address and host key) for wes.
    env.hosts = env.hosts.filter((h) => h.name !== "dev-wes" && h.name !== SPARE).concat({ ...spare, name: "dev-wes" });
    const { ops } = await deploy(
      edited((d) => {
        d.setIn(["developers", devIndex("olga"), "mentees"], d.createNode(["nadia", "wes"]));
        d.setIn(["defaults", "limits", "cpu"], 4);
      }),
    );
    expect(ops.filter((o) => !o.startsWith("create dev-wes-"))).toEqual(["update dev-marcus-hop-marcus", "update dev-olga-hop-olga"]);
    expect(ops).toEqual(expect.arrayContaining(["create dev-wes-sshd", "create dev-wes-sudoers-marcus", "create dev-wes-user-wes"]));
    expect((await upOps(env.stack!)).ops).toEqual([]);

    // The new host: least privilege as planned, people log in, drift finds nothing anywhere.
    expect(
      await auditAccess(
        plan,
        env.hosts.filter((h) => SERVERS.includes(h.name)),
      ),
    ).toEqual([]);
    expect((await asPerson(env, "wes", "dev-wes", "id -un")).stdout.trim()).toBe("wes");
    expect((await asPerson(env, "marcus", "dev-wes", "sudo -n -u wes-agent id -un")).stdout.trim()).toBe("wes-agent");
    const drift = await cli("drift", "--json", ...target());
    expect(drift.code, drift.stdout).toBe(0);

    // Elsewhere: only the hop configs (and their known hosts) that name dev-wes changed.
    for (const s of others) {
      const after = await fingerprint(s);
      const changed = after.filter((l) => !before[s]!.includes(l)).map((l) => l.split(" ").pop());
      const expected =
        s === "dev-nadia" ? [] : [`/home/${s.slice(4)}/.ssh/agent-runtime.conf`, `/home/${s.slice(4)}/.ssh/agent-runtime_known_hosts`];
      expect(changed.sort(), s).toEqual(expected);
    }
    const hop = await asRoot(env, "dev-marcus", "cat /home/marcus/.ssh/agent-runtime.conf /home/marcus/.ssh/agent-runtime_known_hosts");
    expect(hop).toContain(spare.address);
    expect(hop).not.toMatch(new RegExp(`${old.address.replace(/\./g, "\\.")}(\\s|$)`, "m"));
    expect(hop).toContain(spare.hostPublicKey.trim().split(" ").slice(0, 2).join(" "));
  });
  test("a dead server after an up already failed on it: forget-server drops only the old copies, up converges", async () => {
    const old = hostOf("dev-nadia");
    const spare = hostOf(SPARE2);
    setLink(old, "down");
    env.hosts = env.hosts.filter((h) => h.name !== "dev-nadia" && h.name !== SPARE2).concat({ ...spare, name: "dev-nadia" });
    const r = renderTeam(
      env,
      edited((d) => {
        d.setIn(["developers", devIndex("olga"), "mentees"], d.createNode(["nadia", "wes"]));
        d.setIn(["defaults", "limits", "cpu"], 4);
      }),
    );
    plan = r.plan;
    const stack = await configure(env, r.yaml);
    // What the issue saw: the steps move to the new host, then their undo can't reach the old one.
    let failed = "";
    try {
      await stack.up();
    } catch (err) {
      failed = (err as Error).message;
    }
    expect(failed).toMatch(new RegExp(`${old.address.replace(/\./g, "\\.")}.*(No route to host|timed out)`));
    const forget = await cli("forget-server", "dev-nadia", "--yes", ...target());
    expect(forget.code, forget.stderr).toBe(0);
    expect(forget.stdout).toContain(`${old.address}:22 does not answer`);
    expect(forget.stdout).toMatch(/old copies left by an up that could not undo them/);
    const { ops } = await upOps(stack);
    // What the failed up left undone: steps of the new host, and the hop lists naming it.
    const allowed = /^create dev-nadia-|^update dev-(marcus-hop-marcus|olga-hop-olga)$/;
    expect(
      ops.filter((o) => !allowed.test(o)),
      ops.join("\n"),
    ).toEqual([]);
    expect((await upOps(stack)).ops).toEqual([]);
    expect(
      await auditAccess(
        plan,
        env.hosts.filter((h) => SERVERS.includes(h.name)),
      ),
    ).toEqual([]);
    expect((await asPerson(env, "nadia", "dev-nadia", "id -un")).stdout.trim()).toBe("nadia");
    expect((await asPerson(env, "olga", "dev-nadia", "sudo -n -u nadia-agent id -un")).stdout.trim()).toBe("nadia-agent");
    const drift = await cli("drift", "--json", ...target());
    expect(drift.code, drift.stdout).toBe(0);
  });
});
