import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { formatError } from "../../src/team/errors";
import { loadTeamFile, parseTeam, resolveLimits } from "../../src/team/load";
import type { Team } from "../../src/team/model";
import { parsePublicKey } from "../../src/team/sshKeys";
import { fixedKey, teamYaml, type DevSpec, type TeamSpec } from "./teamYaml";

// The loader on valid input: what the normalized Team looks like once defaults, per-developer
// overrides and key parsing are applied.

function load(spec: TeamSpec): Team {
  const r = parseTeam(teamYaml(spec));
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  return r.team;
}

const wes = (extra: Partial<DevSpec> = {}): DevSpec => ({ name: "wes", keys: [fixedKey(1, "wes@laptop")], ...extra });
const person = (t: Team, name = "wes") => t.people.find((p) => p.name === name)!;
const HOST_KEY = fixedKey(9, "root@build-1");

describe("defaults", () => {
  test.each([
    ["hcloud when nothing is set", {}, { provider: "hcloud", serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" }],
    ["aws by defaults.provider", { provider: "aws" }, { provider: "aws", instanceType: "m7i.2xlarge", volumeSize: 100 }],
    [
      "defaults.server.hcloud fills only what it sets",
      { server: { hcloud: { location: "nbg1" } } },
      { provider: "hcloud", serverType: "cpx41", image: "ubuntu-24.04", location: "nbg1" },
    ],
    [
      "defaults for another provider are not used",
      { server: { aws: { instanceType: "c7i.large" } } },
      { provider: "hcloud", serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" },
    ],
  ])("server: %s", (_, defaults, server) => {
    expect(person(load({ team: "acme", defaults, developers: [wes()] })).server).toStrictEqual(server);
  });

  test.each([
    ["built-in limits", {}, { cpu: 4, memory: "8G", memoryHigh: "7372M", tasks: 4096 }],
    ["defaults.limits", { limits: { cpu: 6, memory: "12G", tasks: 2048 } }, { cpu: 6, memory: "12G", memoryHigh: "11059M", tasks: 2048 }],
    [
      "explicit memoryHigh is kept",
      { limits: { cpu: 6, memory: "12G", memoryHigh: "10G", tasks: 4096 } },
      { cpu: 6, memory: "12G", memoryHigh: "10G", tasks: 4096 },
    ],
  ])("limits: %s", (_, defaults, limits) => {
    expect(person(load({ team: "acme", defaults, developers: [wes()] })).limits).toStrictEqual(limits);
  });

  test.each([
    ["8G", "7372M"],
    ["12G", "11059M"],
    ["16G", "14745M"],
    ["512M", "460M"],
    ["1.5T", "1415577M"],
  ])("memoryHigh defaults to 90%% of memory %s → %s", (memory, memoryHigh) => {
    expect(resolveLimits({ cpu: 1, memory, tasks: 100 }).memoryHigh).toBe(memoryHigh);
  });

  test.each([
    ["no et block", {}, { port: 2022, source: "none" }],
    ["et without port", { et: { source: "none" } }, { port: 2022, source: "none" }],
    ["et port set", { et: { port: 2222, source: "none" } }, { port: 2222, source: "none" }],
  ])("et: %s", (_, defaults, et) => {
    expect(load({ team: "acme", defaults, developers: [wes()] }).et).toStrictEqual(et);
  });

  test("network defaults: no CIDRs, world closed", () => {
    const t = load({ team: "acme", developers: [wes()] });
    expect([t.allowFrom, t.allowWorld]).toEqual([[], false]);
  });
});

describe("per-developer overrides", () => {
  const defaults = {
    server: { hcloud: { serverType: "cpx51", location: "nbg1" }, aws: { volumeSize: 200 } },
    limits: { cpu: 6, memory: "12G", tasks: 4096 },
  };
  test.each<[string, Partial<DevSpec>, Record<string, unknown>, Record<string, unknown>]>([
    [
      "nothing overridden",
      {},
      { provider: "hcloud", serverType: "cpx51", image: "ubuntu-24.04", location: "nbg1" },
      { cpu: 6, memory: "12G", memoryHigh: "11059M", tasks: 4096 },
    ],
    [
      "serverType and memory",
      { server: { serverType: "cpx31" }, limits: { memory: "16G" } },
      { provider: "hcloud", serverType: "cpx31", image: "ubuntu-24.04", location: "nbg1" },
      { cpu: 6, memory: "16G", memoryHigh: "14745M", tasks: 4096 },
    ],
    [
      "another provider, with its own defaults",
      { server: { provider: "aws" }, limits: { cpu: 2 } },
      { provider: "aws", instanceType: "m7i.2xlarge", volumeSize: 200 },
      { cpu: 2, memory: "12G", memoryHigh: "11059M", tasks: 4096 },
    ],
    [
      "memoryHigh only",
      { limits: { memoryHigh: "10G" } },
      { provider: "hcloud", serverType: "cpx51", image: "ubuntu-24.04", location: "nbg1" },
      { cpu: 6, memory: "12G", memoryHigh: "10G", tasks: 4096 },
    ],
  ])("%s", (_, override, server, limits) => {
    const t = load({ team: "acme", defaults, developers: [wes(override), { name: "nadia", keys: [fixedKey(2)] }] });
    expect(person(t).server).toStrictEqual(server);
    expect(person(t).limits).toStrictEqual(limits);
    // The override stays with its developer.
    expect(person(t, "nadia").server).toStrictEqual({ provider: "hcloud", serverType: "cpx51", image: "ubuntu-24.04", location: "nbg1" });
    expect(person(t, "nadia").limits).toStrictEqual({ cpu: 6, memory: "12G", memoryHigh: "11059M", tasks: 4096 });
  });
});

describe("existing servers", () => {
  test.each<[string, Record<string, unknown> | undefined, Record<string, unknown>, Record<string, unknown>]>([
    [
      "host and hostKey only",
      undefined,
      { provider: "existing", host: "203.0.113.7", hostKey: HOST_KEY },
      { port: 22, adminUser: "root", host: "203.0.113.7" },
    ],
    [
      "defaults.server.existing for port and adminUser",
      { server: { existing: { port: 2222, adminUser: "admin" } } },
      { provider: "existing", host: "wes.dev.example.com", hostKey: HOST_KEY },
      { port: 2222, adminUser: "admin", host: "wes.dev.example.com" },
    ],
    [
      "provider from defaults.provider",
      { provider: "existing" },
      { host: "2001:db8::7", hostKey: HOST_KEY, port: 2200 },
      { port: 2200, adminUser: "root", host: "2001:db8::7" },
    ],
  ])("%s", (_, defaults, server, want) => {
    const t = load({ team: "acme", ...(defaults ? { defaults } : {}), developers: [wes({ server })] });
    expect(person(t).server).toStrictEqual({ provider: "existing", hostKey: HOST_KEY, ...want });
  });
});

describe("ssh keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "agent-runtime-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["ed25519", ["-t", "ed25519"]],
    ["rsa-2048", ["-t", "rsa", "-b", "2048"]],
    ["ecdsa-256", ["-t", "ecdsa", "-b", "256"]],
    ["ecdsa-384", ["-t", "ecdsa", "-b", "384"]],
    ["ecdsa-521", ["-t", "ecdsa", "-b", "521"]],
  ])("%s: fingerprint equals what ssh-keygen -lf prints", (label, args) => {
    const file = join(dir, `id_${label}`);
    execFileSync("ssh-keygen", ["-q", ...args, "-N", "", "-C", "wes@laptop", "-f", file]);
    const line = readFileSync(`${file}.pub`, "utf8").trim();
    const printed = execFileSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }).split(" ")[1];
    expect(printed).toMatch(/^SHA256:/);

    const t = load({ team: "acme", developers: [wes({ keys: [line] })] });
    const [key] = person(t).keys;
    expect(key).toStrictEqual({ type: line.split(" ")[0], blob: line.split(" ")[1], comment: "wes@laptop", fingerprint: printed });
  });

  test("a key without a comment, and surrounding whitespace", () => {
    const r = parsePublicKey(`  ${fixedKey(3)}  `);
    expect(r.ok && [r.key.type, r.key.comment]).toEqual(["ssh-ed25519", ""]);
  });
});

describe("people and where they came from", () => {
  const spec: TeamSpec = {
    team: "acme",
    developers: [
      { name: "wes", keys: [fixedKey(1)] },
      { name: "olga", role: "senior", keys: [fixedKey(2)], mentees: ["wes", "nadia"] },
      { name: "nadia", keys: [fixedKey(3)] },
    ],
  };
  const text = teamYaml(spec);
  const lineOf = (s: string, from = 0) => text.split("\n").findIndex((l, i) => i >= from && l.includes(s)) + 1;
  const r = parseTeam(text);
  const t = r.ok ? r.team : undefined;

  test("sorted by name, roles defaulted, mentees sorted", () => {
    expect(t?.people.map((p) => [p.name, p.role, p.mentees])).toEqual([
      ["nadia", "developer", []],
      ["olga", "senior", ["nadia", "wes"]],
      ["wes", "developer", []],
    ]);
  });

  test("source lines point at the entry, the role and each mentee", () => {
    const olga = person(t!, "olga");
    const entry = lineOf("- name: olga");
    expect(olga.source.entry).toEqual({ line: entry, path: "developers[1]" });
    expect(olga.source.role).toEqual({ line: lineOf("role: senior"), path: "developers[1].role" });
    expect(olga.source.mentees).toEqual({
      wes: { line: lineOf("- wes", entry), path: "developers[1].mentees[0]" },
      nadia: { line: lineOf("- nadia", entry), path: "developers[1].mentees[1]" },
    });
    expect(person(t!, "wes").source.entry.line).toBe(lineOf("- name: wes"));
  });
});

test("the example team.yaml at the repo root validates", () => {
  const r = loadTeamFile(join(__dirname, "..", "..", "team.yaml"));
  if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
  expect(r.team.people.map((p) => [p.name, p.role, p.mentees])).toEqual([
    ["marcus", "lead", []],
    ["nadia", "developer", []],
    ["olga", "senior", ["nadia"]],
    ["wes", "developer", []],
  ]);
  expect(person(r.team, "wes").limits.memory).toBe("16G");
  expect(person(r.team, "nadia").limits).toStrictEqual({ cpu: 6, memory: "12G", memoryHigh: "11059M", tasks: 4096 });
  expect(r.team.people.every((p) => p.keys.length === 1 && p.keys[0]!.fingerprint.startsWith("SHA256:"))).toBe(true);
});

describe("forwarding", () => {
  test.each<[string, Partial<DevSpec>, boolean]>([
    ["off when not set", {}, false],
    ["off when false", { forwarding: false }, false],
    ["on when true", { forwarding: true }, true],
  ])("%s", (_, extra, want) => {
    const t = load({ team: "acme", developers: [wes(extra), { name: "nadia", keys: [fixedKey(2)] }] });
    expect([person(t).forwarding, person(t, "nadia").forwarding]).toEqual([want, false]);
  });
});

describe("adminUser and people's names", () => {
  const existing = (extra: Record<string, unknown> = {}) => ({ provider: "existing", host: "203.0.113.7", hostKey: HOST_KEY, ...extra });
  const errorsOf = (spec: TeamSpec) => {
    const r = parseTeam(teamYaml(spec));
    return r.ok ? [] : r.errors.map(formatError);
  };

  test("an adminUser that is nobody's name is fine", () => {
    expect(
      errorsOf({ team: "acme", defaults: { server: { existing: { adminUser: "ops" } } }, developers: [wes({ server: existing() })] }),
    ).toEqual([]);
  });

  test("one error per person, naming every place that uses their name as adminUser", () => {
    const spec: TeamSpec = {
      team: "acme",
      defaults: { server: { existing: { adminUser: "nadia" } } },
      developers: [wes({ server: existing({ adminUser: "nadia" }) }), { name: "nadia", keys: [fixedKey(2)] }],
    };
    const text = teamYaml(spec);
    const line = (s: string, from = 0) => text.split("\n").findIndex((l, i) => i >= from && l.includes(s)) + 1;
    expect(errorsOf(spec)).toEqual([
      `team.yaml:${line("- name: nadia")}:11 developers[1].name: "nadia" is also the adminUser the provisioner logs in as ` +
        `(defaults.server.existing.adminUser at line ${line("adminUser: nadia")}, developers[0].server.adminUser at line ${line("adminUser: nadia", line("- name: wes"))}) ` +
        "(a person cannot share the admin account: rename the person or use another adminUser)",
    ]);
  });

  test("a reserved name that is also adminUser is reported once, as reserved", () => {
    const errors = errorsOf({
      team: "acme",
      developers: [wes({ server: existing({ adminUser: "ubuntu" }) }), { name: "ubuntu", keys: [fixedKey(2)] }],
    });
    expect(errors).toEqual([expect.stringContaining('developers[1].name: "ubuntu" is reserved')]);
  });
});
