import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import type * as AgentRuntimeModule from "../../components/agentRuntime";
import { planTeam, type TeamPlan } from "../../src/plan/access";
import { sudoersFiles } from "../../src/render/sudoers";
import { formatError } from "../../src/team/errors";
import { loadTeamFile, parseTeam } from "../../src/team/load";
import { fixedKey, teamYaml, type DevSpec, type TeamSpec } from "./teamYaml";

// The whole program (AgentRuntime from a team.yaml text) under pulumi.runtime.setMocks:
// what exists per developer, what a team.yaml edit adds, removes and replaces, and where
// the provisioner's private key may appear. index.ts only reads config and calls this.

interface Rec {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const recs: Rec[] = [];
const num = (s: string) => parseInt(createHash("sha256").update(s).digest("hex").slice(0, 6), 16);
// Internal to the SDK, but the one way to know every registration reached the mock monitor.
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
const promiseOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const ipOf = (name: string) => `203.0.113.${(num(name) % 250) + 1}`;

let runtime: typeof AgentRuntimeModule;
beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        recs.push({ type: a.type, name: a.name, inputs: a.inputs });
        const extra: Record<string, unknown> = {};
        if (a.type === "hcloud:index/server:Server") extra.ipv4Address = ipOf(a.name);
        if (a.type === "aws:ec2/instance:Instance") extra.publicIp = ipOf(a.name);
        if (a.type === "aws:ec2/keyPair:KeyPair") extra.keyName = `${a.name}-kp`;
        // A cloud server's generated host key (components/hostKey.ts).
        if (a.name.endsWith("-host-key"))
          Object.assign(extra, {
            publicKey: fixedKey(num(a.name) % 90).trim(),
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nHOST\n-----END OPENSSH PRIVATE KEY-----\n",
          });
        // Hop steps print the hop public key last; the runtime step prints its status.
        if (a.type === "command:remote:Command")
          extra.stdout = a.name.includes("-hopkey-") ? fixedKey(num(a.name) % 200, "hop") : "et: installed\nauditd: running";
        return { id: String(num(a.name)), state: { ...a.inputs, ...extra } };
      },
      call: (a) => {
        if (a.token === "aws:ec2/getAmi:getAmi") return { ...a.inputs, id: "ami-0123456789abcdef0" };
        throw new Error(`unexpected invoke ${a.token}`);
      },
    },
    "agent-runtime",
    "test",
    false,
  );
  runtime = await import("../../components/agentRuntime");
});

// A recognisable stand-in for the stack's private key: the scan below looks for its body.
const KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-TEST-ONLY-PRIVATE-KEY-BODY";
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
const ADMIN_PUB = fixedKey(200, "agent-runtime-provisioner");

/** marcus leads, olga mentors nadia, wes and nadia develop; `provider` for everyone. */
function team(provider: "hcloud" | "aws", edit: (devs: DevSpec[]) => DevSpec[] = (d) => d): TeamSpec {
  const developers: DevSpec[] = [
    { name: "marcus", role: "lead", keys: [fixedKey(1, "marcus@laptop")] },
    { name: "olga", role: "senior", keys: [fixedKey(2, "olga@laptop")], mentees: ["nadia"] },
    { name: "wes", keys: [fixedKey(3, "wes@laptop")] },
    { name: "nadia", keys: [fixedKey(4, "nadia@laptop")] },
  ];
  return { team: "acme", defaults: { provider, allowFrom: ["198.51.100.0/24", "2001:db8::/32"] }, developers: edit(developers) };
}

function planOf(text: string): TeamPlan {
  const r = parseTeam(text);
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  return planTeam(r.team);
}

/** Run the program for one team file and return every resource the engine would see. */
async function program(text: string) {
  const plan = planOf(text);
  const r = parseTeam(text);
  if (!r.ok) throw new Error("unreachable");
  recs.length = 0;
  const rt = new runtime.AgentRuntime("acme", {
    plan,
    admin: { publicKey: ADMIN_PUB },
    executor: { kind: "command", privateKey: pulumi.secret(PRIVATE_KEY) },
    et: r.team.et,
    allowFrom: r.team.allowFrom,
    archiveDir: "/tmp/agent-runtime-archives",
    agentctl: { path: "/build/agentctl.mjs", sha256: "cd".repeat(32) },
  });
  const servers = await promiseOf(rt.servers);
  await settings.waitForRPCs();
  const all = [...recs];
  const byName = new Map(all.map((x) => [x.name, x]));
  expect(byName.size, "resource names are unique").toBe(all.length);
  return { plan, servers, all, byName, names: new Set(byName.keys()), count: (t: string) => all.filter((x) => x.type === t).length };
}

const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;
/** Drop the mock's secret wrappers, for comparing values. */
const plain = (v: any): any =>
  Array.isArray(v)
    ? v.map(plain)
    : v && typeof v === "object"
      ? v[SIG] === SECRET
        ? plain(v.value)
        : Object.fromEntries(Object.entries(v).map(([k, e]) => [k, plain(e)]))
      : v;
/** Every place a string containing `needle` sits in `v`, and whether a secret wrapper encloses it. */
function occurrences(v: any, needle: string, path = "", secret = false): { path: string; secret: boolean }[] {
  if (typeof v === "string") return v.includes(needle) ? [{ path, secret }] : [];
  if (Array.isArray(v)) return v.flatMap((e, i) => occurrences(e, needle, `${path}[${i}]`, secret));
  if (v && typeof v === "object") {
    if (v[SIG] === SECRET) return occurrences(v.value, needle, path, true);
    return Object.entries(v).flatMap(([k, e]) => occurrences(e, needle, path ? `${path}.${k}` : k, secret));
  }
  return [];
}
const sorted = (s: Iterable<string>) => [...s].sort();
const under = (server: string, name: string) => name === server || name.startsWith(`${server}-`);

describe("one server per developer (mocks)", () => {
  test("hcloud team: one server and one firewall per developer, nothing from aws", async () => {
    const p = await program(teamYaml(team("hcloud")));
    expect(p.count("agent-runtime:index:DevServer")).toBe(4);
    expect(p.count("hcloud:index/server:Server")).toBe(4);
    // One admin key for the whole team: Hetzner refuses two keys with one fingerprint.
    expect(p.count("hcloud:index/sshKey:SshKey")).toBe(1);
    expect(p.count("hcloud:index/firewall:Firewall")).toBe(4);
    expect(p.all.filter((x) => x.type.startsWith("aws:"))).toEqual([]);
    for (const s of p.plan.servers) {
      expect(p.byName.get(`${s.name}-server`)?.type).toBe("hcloud:index/server:Server");
      expect(p.servers[s.name]!.address).toBe(ipOf(`${s.name}-server`));
    }
  });

  test("aws team: one instance, security group and key pair per developer, nothing from hcloud", async () => {
    const p = await program(teamYaml(team("aws")));
    expect(p.count("aws:ec2/instance:Instance")).toBe(4);
    expect(p.count("aws:ec2/securityGroup:SecurityGroup")).toBe(4);
    expect(p.count("aws:ec2/keyPair:KeyPair")).toBe(4);
    expect(p.all.filter((x) => x.type.startsWith("hcloud:"))).toEqual([]);
    for (const s of p.plan.servers) expect(p.servers[s.name]!.address).toBe(ipOf(`${s.name}-instance`));
  });
});

describe("team.yaml edits (mocks)", () => {
  test("reordering team.yaml keeps every resource name, and every cloud resource's inputs", async () => {
    const a = await program(teamYaml(team("hcloud")));
    const b = await program(teamYaml(team("hcloud", (d) => [...d].reverse())));
    expect(sorted(b.names)).toEqual(sorted(a.names));
    for (const x of a.all.filter((r) => r.type.startsWith("hcloud:"))) expect(b.byName.get(x.name)!.inputs, x.name).toEqual(x.inputs);
  });

  const removeCases: [string, (d: DevSpec[]) => DevSpec[]][] = ["marcus", "olga", "wes", "nadia"].map((who) => [
    who,
    (d) => d.filter((x) => x.name !== who).map((x) => (x.mentees ? { ...x, mentees: x.mentees.filter((m) => m !== who) } : x)),
  ]);
  test.each(removeCases)("removing %s removes exactly their server and their access elsewhere", async (who, edit) => {
    const before = await program(teamYaml(team("hcloud")));
    const after = await program(teamYaml(team("hcloud", edit)));
    const expectedGone = new Set([...before.names].filter((n) => under(`dev-${who}`, n)));
    const expectedChanged = new Set<string>();
    for (const s of before.plan.servers) {
      const t = after.plan.servers.find((x) => x.name === s.name);
      if (!t) continue;
      for (const h of s.humans) if (!t.humans.some((x) => x.name === h.name)) expectedGone.add(`${s.name}-user-${h.name}`);
      const [fb, fa] = [sudoersFiles(s), sudoersFiles(t)];
      for (const h of Object.keys(fb)) {
        if (!(h in fa)) expectedGone.add(`${s.name}-sudoers-${h}`);
        else if (fa[h] !== fb[h]) expectedChanged.add(`${s.name}-sudoers-${h}`);
      }
      if (s.hopsTo.length > 0 && t.hopsTo.length === 0) {
        expectedGone.add(`${s.name}-hop-${s.owner}`);
        expectedGone.add(`${s.name}-hopkey-${s.owner}`);
      } else if (s.hopsTo.join() !== t.hopsTo.join()) expectedChanged.add(`${s.name}-hop-${s.owner}`);
    }
    expect(sorted([...before.names].filter((n) => !after.names.has(n)))).toEqual(sorted(expectedGone));
    expect(sorted([...after.names].filter((n) => !before.names.has(n)))).toEqual([]);
    const changed = [...after.names].filter(
      (n) => JSON.stringify(after.byName.get(n)!.inputs) !== JSON.stringify(before.byName.get(n)!.inputs),
    );
    expect(sorted(changed)).toEqual(sorted(expectedChanged));
  });

  test("switching wes from existing to hcloud creates his server and changes the trigger of every step on it", async () => {
    const existing = { provider: "existing", host: "192.0.2.10", hostKey: fixedKey(99) };
    const before = await program(teamYaml(team("hcloud", (d) => d.map((x) => (x.name === "wes" ? { ...x, server: existing } : x)))));
    const after = await program(teamYaml(team("hcloud")));
    expect(before.byName.has("dev-wes-server")).toBe(false);
    expect(after.byName.get("dev-wes-server")?.type).toBe("hcloud:index/server:Server");
    const steps = (p: typeof before) =>
      sorted([...p.names].filter((n) => under("dev-wes", n) && p.byName.get(n)!.type === "command:remote:Command"));
    expect(steps(after).length).toBeGreaterThanOrEqual(5);
    expect(steps(after)).toEqual(steps(before));
    for (const n of steps(after)) {
      expect(plain(before.byName.get(n)!.inputs.triggers), n).toEqual(["existing:192.0.2.10"]);
      expect(plain(after.byName.get(n)!.inputs.triggers), n).toEqual([`hcloud:${ipOf("dev-wes-server")}`]);
    }
    // Other developers' servers are the same machines: their steps keep their triggers.
    const others = after.all.filter((x) => x.type === "command:remote:Command" && !under("dev-wes", x.name));
    expect(others.length).toBeGreaterThan(0);
    for (const x of others) expect(plain(x.inputs.triggers), x.name).toEqual(plain(before.byName.get(x.name)!.inputs.triggers));
  });
});

describe("the provisioner's private key (mocks)", () => {
  // @pulumi/command marks the whole `connection` secret itself and DevServer wraps AR_KEY,
  // so what can regress here is *where* the key goes (a script, a log, user data).
  test("the scan finds plain and wrapped copies and tells them apart", () => {
    const wrapped = { [SIG]: SECRET, value: { privateKey: PRIVATE_KEY } };
    expect(occurrences({ stdin: `x${KEY_BODY}`, connection: wrapped, list: [PRIVATE_KEY] }, KEY_BODY)).toEqual([
      { path: "stdin", secret: false },
      { path: "connection.privateKey", secret: true },
      { path: "list[0]", secret: false },
    ]);
  });

  test.each(["hcloud", "aws"] as const)("%s: appears only as a secret, in remote connections and the gate's AR_KEY", async (provider) => {
    const p = await program(teamYaml(team(provider)));
    const remote = p.all.filter((x) => x.type === "command:remote:Command");
    const gates = p.all.filter((x) => x.type === "command:local:Command");
    expect(remote.length).toBeGreaterThan(0);
    // Local commands: the readiness gate and the archive pull (on delete) per server.
    expect(gates.map((g) => g.name).sort()).toEqual(p.plan.servers.flatMap((s) => [`${s.name}-archives`, `${s.name}-ready`]).sort());
    for (const x of p.all) {
      const found = occurrences(x.inputs, KEY_BODY);
      const allowed =
        x.type === "command:remote:Command" || x.type === "command:remote:CopyToRemote"
          ? "connection.privateKey"
          : x.type === "command:local:Command"
            ? "environment.AR_KEY"
            : undefined;
      expect(found, `${x.type} ${x.name}`).toEqual(allowed ? [{ path: allowed, secret: true }] : []);
    }
    // The public half does reach the machines (user data / key pair), in plain text.
    expect(
      occurrences(
        p.all.map((x) => x.inputs),
        ADMIN_PUB.split(" ")[1]!,
      ).length,
    ).toBeGreaterThan(0);
  });
});

describe("examples/ (mocks)", () => {
  const root = join(__dirname, "..", "..");
  test.each(["hcloud", "aws"] as const)("team.%s.yaml is valid and builds one server per developer", async (provider) => {
    const r = loadTeamFile(join(root, "examples", `team.${provider}.yaml`));
    if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
    expect(r.team.people.every((x) => x.server.provider === provider)).toBe(true);
    expect(r.team.allowFrom.length).toBeGreaterThan(0);
    const p = await program(readFileSync(join(root, "examples", `team.${provider}.yaml`), "utf8"));
    expect(p.count(provider === "aws" ? "aws:ec2/instance:Instance" : "hcloud:index/server:Server")).toBe(r.team.people.length);
  });

  test.each(["hcloud", "aws"] as const)("Pulumi.%s.yaml names its team file and holds no secret", (provider) => {
    const text = readFileSync(join(root, "examples", `Pulumi.${provider}.yaml`), "utf8");
    const config = parse(text).config as Record<string, unknown>;
    expect(config["agent-runtime:teamFile"]).toBe("team.yaml");
    if (provider === "aws") expect(config["aws:region"]).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
    expect(text).not.toMatch(/PRIVATE KEY|secure:|hcloud:token:/);
  });
});
