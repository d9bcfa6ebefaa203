import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, test } from "vitest";
import type * as AgentRuntimeModule from "../../components/agentRuntime";
import { checkExecutorSwitch, type Executor } from "../../components/executor";
import { planTeam } from "../../src/plan/access";
import { helpers, shq } from "../../src/render/script";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";
import { fixedKey, teamYaml, type TeamSpec } from "./teamYaml";

// One contract, two executors (mocks): the whole program run with executor "command"
// (remote.Command / local.Command) and with executor "ssh" (dynamic providers) must make
// the same steps — names, scripts, undo scripts, connections, pinned host keys and
// dependencies — differing only in resource type. The e2e suite runs "ssh" for real.

interface Rec {
  type: string;
  name: string;
  inputs: Record<string, any>;
  deps: string[];
}
const recs: Rec[] = [];
const deps = new Map<string, string[]>();
const num = (s: string) => parseInt(createHash("sha256").update(s).digest("hex").slice(0, 6), 16);
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
let runtime: typeof AgentRuntimeModule;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        recs.push({ type: a.type, name: a.name, inputs: a.inputs, deps: deps.get(a.name) ?? [] });
        const hop = a.name.includes("-hopkey-") ? fixedKey(num(a.name) % 200, "hop") : "ok";
        const extra: Record<string, unknown> = {};
        if (a.type === "hcloud:index/server:Server") extra.ipv4Address = `203.0.113.${(num(a.name) % 250) + 1}`;
        if (a.name.endsWith("-host-key"))
          Object.assign(extra, {
            publicKey: cloudHostKey(a.name),
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-HOST-KEY\n-----END OPENSSH PRIVATE KEY-----\n",
          });
        return { id: String(num(a.name)), state: { ...a.inputs, stdout: hop, ...extra } };
      },
      call: (a) => {
        throw new Error(`unexpected invoke ${a.token}`);
      },
    },
    "agent-runtime",
    "test",
    false,
  );
  runtime = await import("../../components/agentRuntime");
});

/** What the mocked HostKey resource of a cloud server "generates". */
const cloudHostKey = (name: string) => fixedKey(num(name) % 90, "").trim();
const HOST_KEY = (n: number) => fixedKey(100 + n, "").trim();
function team(hostKeys: Record<string, string> = {}): TeamSpec {
  const devs = [
    { name: "marcus", role: "lead" as const, keys: [fixedKey(1, "marcus@laptop")] },
    { name: "olga", role: "senior" as const, keys: [fixedKey(2, "olga@laptop")], mentees: ["wes"] },
    { name: "wes", keys: [fixedKey(3, "wes@laptop")] },
  ];
  return {
    team: "acme",
    defaults: { provider: "existing" },
    developers: devs.map((d, i) => ({
      ...d,
      server: { provider: "existing", host: `192.0.2.${10 + i}`, hostKey: hostKeys[d.name] ?? HOST_KEY(i) },
    })),
  };
}

/** Every step of the program under one executor, normalized to what the contract says. */
async function steps(executor: Executor, spec = team()) {
  const r = parseTeam(teamYaml(spec));
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  recs.length = 0;
  deps.clear();
  // Record dependencies by name as resources are constructed (mocks don't see them).
  const transformations: pulumi.ResourceTransformation[] = [
    (a) => {
      const on = ([] as pulumi.Input<pulumi.Resource>[]).concat((a.opts.dependsOn as pulumi.Input<pulumi.Resource>[] | undefined) ?? []);
      deps.set(a.name, on.map((d) => (d as unknown as { __name: string }).__name).sort());
      return undefined;
    },
  ];
  new runtime.AgentRuntime(
    "acme",
    {
      plan: planTeam(r.team),
      admin: { publicKey: fixedKey(200, "provisioner") },
      executor,
      et: r.team.et,
      allowFrom: r.team.allowFrom,
      archiveDir: "/srv/archives",
      agentctl: AGENTCTL,
    },
    { transformations },
  );
  await settings.waitForRPCs();
  const unwrapBash = (s: string | undefined) => (s === undefined ? "" : s.replace(/^(sudo -n )?bash -c /, ""));
  return recs
    .filter((x) => x.type === "command:remote:Command" || x.type === "command:local:Command" || x.type === "pulumi-nodejs:dynamic:Resource")
    .map((x) => {
      const i = x.inputs;
      const remote = x.type === "command:remote:Command" || (x.type === "pulumi-nodejs:dynamic:Resource" && "host" in i);
      const local = x.type === "command:local:Command" || (x.type === "pulumi-nodejs:dynamic:Resource" && "environment" in i);
      const kind = remote ? "remote" : local ? "local" : "lock";
      const conn = x.type === "command:remote:Command" ? plain(i.connection) : i;
      // A payload: the command executor names its sftp copy on the script's first line;
      // the ssh executor sends the file itself, keyed on its hash.
      const copied = x.type === "command:remote:Command" ? /^AR_PAYLOAD=.*\/agent-runtime-payload-([0-9a-f]{16})"\n/.exec(i.stdin) : null;
      return {
        name: x.name,
        kind,
        type: x.type,
        deps: x.deps.filter((d) => !d.endsWith("-payload")),
        payload: copied ? copied[1] : (i.payloadSha256 ?? "").slice(0, 16),
        // The lock's only input is the executor's name: the one thing that must differ.
        script:
          x.type === "command:remote:Command"
            ? i.stdin.slice(copied ? copied[0].length : 0)
            : x.type === "command:local:Command"
              ? i.create
                ? unwrapBash(i.create)
                : ""
              : (i.script ?? ""),
        undo:
          x.type === "command:remote:Command"
            ? i.delete
              ? unwrapBash(i.delete)
              : ""
            : x.type === "command:local:Command"
              ? i.delete
                ? unwrapBash(i.delete)
                : ""
              : (i.undo ?? ""),
        where: kind === "remote" ? `${conn.user}@${conn.host}:${conn.port} ${conn.hostKey ?? ""}` : "",
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const SIG = pulumi.runtime.specialSigKey;
/** The mock sees secrets wrapped (the connection carries the private key): unwrap. */
const plain = (v: any): any => (v && typeof v === "object" && v[SIG] === pulumi.runtime.specialSecretSig ? plain(v.value) : v);

const COMMAND: Executor = { kind: "command", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" };
const SSH: Executor = { kind: "ssh", keyPath: "/keys/provisioner" };
/** `bash -c 'text'` as the command executor spells a script: compare unquoted text. */
const unq = (s: string) => (s.startsWith("'") ? s.slice(1, -1).replace(/'\\''/g, "'") : s);

const AGENTCTL = { path: "/build/agentctl-abababababababab.mjs", sha256: "ab".repeat(32) };

describe("both executors make the same steps (mocks)", () => {
  test("same names, scripts, undo scripts, connections, pins and dependencies; only the types differ", async () => {
    const viaCommand = await steps(COMMAND);
    const copies = recs.filter((r) => r.type === "command:remote:CopyToRemote");
    const viaSsh = await steps(SSH);
    expect(viaCommand.length).toBeGreaterThan(20);
    expect(viaSsh.map((s) => s.name)).toEqual(viaCommand.map((s) => s.name));
    for (const [c, s] of viaCommand.map((c, i) => [c, viaSsh[i]!] as const)) {
      expect({ ...s, type: undefined, script: unq(s.script), undo: unq(s.undo) }, c.name).toEqual({
        ...c,
        type: undefined,
        script: unq(c.script),
        undo: unq(c.undo),
      });
      // The lock is one dynamic resource under both executors (so a switch can't dodge it).
      expect([c.type, s.type]).toEqual(
        c.kind === "lock"
          ? ["pulumi-nodejs:dynamic:Resource", "pulumi-nodejs:dynamic:Resource"]
          : [`command:${c.kind}:Command`, "pulumi-nodejs:dynamic:Resource"],
      );
    }
    // Every kind of step is there under both: lock, gates, archive pulls, remote steps.
    expect(new Set(viaCommand.map((s) => s.kind))).toEqual(new Set(["lock", "local", "remote"]));
    // The pinned host key reaches every remote step of a server, under both executors.
    for (const s of [...viaCommand, ...viaSsh].filter((x) => x.kind === "remote")) expect(s.where).toMatch(/ ssh-ed25519 AAAA\S+$/);
    // agentctl's bundle goes with its step on every server, as a file, never as text.
    const agentctl = viaSsh.filter((s) => s.name.endsWith("-agentctl"));
    expect(agentctl.length).toBe(3);
    for (const s of agentctl) expect(s.payload).toBe("ab".repeat(8));
    expect(viaSsh.filter((s) => s.payload).map((s) => s.name)).toEqual(agentctl.map((s) => s.name));
    expect(copies.map((c) => c.name).sort()).toEqual(agentctl.map((s) => `${s.name}-payload`));
    for (const c of copies) {
      expect(c.inputs.remotePath).toBe(`agent-runtime-payload-${"ab".repeat(8)}`);
      expect(c.inputs.triggers[0]).toBe("ab".repeat(32));
    }
    // Every step waits for something; the gates wait for the executor lock.
    for (const s of viaSsh.filter((x) => x.name.endsWith("-ready"))) expect(s.deps).toEqual(["acme-executor"]);
  });

  test("every remote script names its server and address for its messages (AR_WHERE)", async () => {
    for (const s of (await steps(COMMAND)).filter((x) => x.kind === "remote")) {
      const server = s.name.split("-").slice(0, 2).join("-");
      expect(s.script.split("\n")[0], s.name).toMatch(
        new RegExp(`^AR_WHERE='${server} \\(agent-runtime@192\\.0\\.2\\.\\d+:22\\)'$|^AR_WHERE='${server} \\(root@`),
      );
    }
  });

  test("the shared helpers: the lib step installs them after the admin step; every later remote step sources them and waits for it", async () => {
    const h = helpers();
    for (const executor of [COMMAND, SSH]) {
      const all = await steps(executor);
      const byName = new Map(all.map((s) => [s.name, s]));
      const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
        from === to || (!seen.has(from) && (seen.add(from), (byName.get(from)?.deps ?? []).some((d) => reaches(d, to, seen))));
      const remote = all.filter((x) => x.kind === "remote");
      expect(remote.filter((s) => s.name.endsWith("-lib")).length).toBe(3);
      for (const s of remote) {
        const server = s.name.split("-").slice(0, 2).join("-");
        const [admin, lib] = [`${server}-admin`, `${server}-lib`];
        if (s.name === admin || s.name === lib) {
          // They run before the helpers exist (and their undo after): they carry them.
          for (const text of [s.script, s.undo].map(unq).filter(Boolean)) expect(text, s.name).not.toContain('source "$AR_HELPERS"');
          if (s.name === lib) {
            expect(unq(s.script)).toContain(`AR_HELPERS=${shq(h.path)}\nAR_HELPERS_TEXT=${shq(h.text)}\n`);
            expect(s.deps).toEqual([admin]);
            // As the provisioner, like every step after the admin step (a hardened sshd refuses root).
            expect(s.where).toMatch(/^agent-runtime@/);
          }
          continue;
        }
        expect(reaches(s.name, lib), `${s.name} waits for ${lib}`).toBe(true);
        for (const text of [s.script, s.undo].map(unq).filter(Boolean)) {
          expect(text, s.name).toContain(`AR_HELPERS=${shq(h.path)}\nAR_HELPERS_SHA256=${h.sha256}\n`);
          expect(text, s.name).toContain('source "$AR_HELPERS"');
          expect(text, s.name).not.toContain("install_file() {");
        }
      }
    }
  });

  test("a changed host key in team.yaml changes the pin of every step on that server, and only there", async () => {
    const before = await steps(COMMAND);
    const after = await steps(COMMAND, team({ wes: HOST_KEY(42) }));
    const changed = after.filter((s, i) => JSON.stringify(s) !== JSON.stringify(before[i])).map((s) => s.name);
    expect(changed.length).toBeGreaterThan(10);
    // dev-wes's steps, and the hop lists that pin dev-wes's key on the leads' servers.
    for (const n of changed) expect(n).toMatch(/^dev-wes-|^dev-(marcus|olga)-hop-/);
    for (const s of after.filter((x) => x.kind === "remote" && x.name.startsWith("dev-wes-"))) expect(s.where).toContain(HOST_KEY(42));
    // The gate pins the same key (it refuses to go on when the server presents another).
    expect(after.find((s) => s.name === "dev-wes-ready")!.script).toContain(shq(HOST_KEY(42)));
  });
});

describe("the executor lock", () => {
  test("refuses a switch with a message that says why and what to do", async () => {
    const r = await checkExecutorSwitch({ kind: "ssh" }, { kind: "command" });
    expect(r.failures).toHaveLength(1);
    expect(r.failures![0]!.reason).toMatch(/agent-runtime:executor is "command" but this stack's steps were made with "ssh"/);
    expect(r.failures![0]!.reason).toMatch(/Set agent-runtime:executor back to "ssh"/);
    expect(r.failures![0]!.reason).toMatch(/pulumi state delete --target-dependents/);
  });
  test.each([
    [undefined, "ssh"],
    [{}, "command"],
    [{ kind: "ssh" }, "ssh"],
    [{ kind: "command" }, "command"],
  ])("allows %j → %s", async (olds, kind) => {
    expect((await checkExecutorSwitch(olds as { kind?: string } | undefined, { kind })).failures).toBeUndefined();
  });
});

describe("cloud servers: the host key is generated with the stack and pinned from the first connection (mocks)", () => {
  test.each([COMMAND, SSH])("%j: user data installs it, the gate and every step pin it", async (executor) => {
    const spec: TeamSpec = { ...team(), defaults: { provider: "hcloud", allowFrom: ["198.51.100.0/24"] } };
    spec.developers = spec.developers.map(({ server: _server, ...d }) => d);
    const all = await steps(executor, spec);
    for (const server of ["dev-marcus", "dev-olga", "dev-wes"]) {
      const pin = cloudHostKey(`${server}-host-key`);
      const rec = recs.find((x) => x.name === `${server}-server`)!;
      expect(rec.type).toBe("hcloud:index/server:Server");
      // The user data is a secret (it carries the private half): unwrap and read it.
      const userData = String(plain(rec.inputs.userData));
      expect(userData).toContain(`ed25519_public: ${JSON.stringify(pin)}`);
      expect(userData).toContain("TEST-HOST-KEY");
      expect(userData).toMatch(/^ssh_genkeytypes: \[\]$/m);
      expect(unq(all.find((x) => x.name === `${server}-ready`)!.script)).toContain(`AR_HOST_KEY=${shq(pin)}`);
      for (const x of all.filter((y) => y.kind === "remote" && y.name.startsWith(`${server}-`)))
        expect(x.where, x.name).toMatch(new RegExp(`${pin.split(" ")[1]!.replace(/[+/]/g, "\\$&")}$`));
      // The private half is a secret output of the key resource, never a plain input anywhere.
      for (const other of recs.filter((x) => !x.name.endsWith("-server")))
        expect(JSON.stringify(other.inputs), other.name).not.toContain("TEST-HOST-KEY");
    }
  });
});
