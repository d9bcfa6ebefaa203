import fc from "fast-check";
import { stringify } from "yaml";
import { RESERVED_NAMES } from "../../src/team/checks";
import { MAX_NAME } from "../../src/team/schema";

// Builders for team.yaml text in tests: real ssh key lines, a YAML renderer, and a
// fast-check arbitrary for random valid teams (people, roles, mentees, keys).

/** An `ssh-ed25519 AAAA…` line for 32 key bytes, in the ssh wire encoding (string type, string key). */
export function ed25519PublicKey(bytes: Uint8Array, comment = ""): string {
  if (bytes.length !== 32) throw new Error("an ed25519 public key is 32 bytes");
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(Buffer.from(bytes))]).toString("base64");
  return comment ? `ssh-ed25519 ${blob} ${comment}` : `ssh-ed25519 ${blob}`;
}

/** A fixed key for hand-written tables: byte `seed` repeated. */
export const fixedKey = (seed: number, comment = "") => ed25519PublicKey(new Uint8Array(32).fill(seed), comment);

export interface DevSpec {
  name: string;
  /** Omitted from the YAML when undefined (the schema's default applies). */
  role?: "lead" | "senior" | "developer";
  keys: string[];
  mentees?: string[];
  server?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  /** Omitted from the YAML when undefined (defaults to false). */
  forwarding?: boolean;
}

export interface TeamSpec {
  team: string;
  defaults?: Record<string, unknown>;
  developers: DevSpec[];
}

/** team.yaml text for a spec; each developer entry starts with its `- name:` line. */
export function teamYaml(spec: TeamSpec): string {
  const developers = spec.developers.map((d) => ({
    name: d.name,
    ...(d.role ? { role: d.role } : {}),
    sshKeys: d.keys,
    ...(d.mentees ? { mentees: d.mentees } : {}),
    ...(d.server ? { server: d.server } : {}),
    ...(d.limits ? { limits: d.limits } : {}),
    ...(d.forwarding !== undefined ? { forwarding: d.forwarding } : {}),
  }));
  return stringify({ team: spec.team, ...(spec.defaults ? { defaults: spec.defaults } : {}), developers }, { lineWidth: 0 });
}

/** The developer whose entry contains 1-based `line` of `text` (entries start with `  - name: x`). */
export function entryAt(text: string, line: number): string | undefined {
  const lines = text.split("\n");
  for (let i = line - 1; i >= 0; i--) {
    const m = /^ {2}- name: (\S+)$/.exec(lines[i]!);
    if (m) return m[1];
    if (/^\S/.test(lines[i]!)) return undefined; // left the developers list
  }
  return undefined;
}

const LOWER = "abcdefghijklmnopqrstuvwxyz".split("");
const TAIL = [...LOWER, ..."0123456789_-".split("")];

/** Valid, unreserved person names (YAML-plain, so the renderer never quotes them). */
export const arbName = fc
  .tuple(fc.constantFrom(...LOWER), fc.array(fc.constantFrom(...TAIL), { maxLength: 12 }))
  .map(([h, t]) => h + t.join(""))
  .filter(
    (n) =>
      n.length <= MAX_NAME &&
      !RESERVED_NAMES.has(n) &&
      !n.startsWith("systemd-") &&
      !n.endsWith("-agent") &&
      !["true", "false", "null"].includes(n),
  );

const arbKeyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** A random valid team: 1–8 people, any roles, seniors mentor a random subset of the others, 1–2 keys each, forwarding unset, off or on. */
export const arbTeamSpec: fc.Arbitrary<TeamSpec> = fc
  .uniqueArray(arbName, { minLength: 1, maxLength: 8 })
  .chain((names) =>
    fc.record({
      names: fc.constant(names),
      roles: fc.array(fc.constantFrom<DevSpec["role"]>(undefined, "developer", "senior", "lead"), {
        minLength: names.length,
        maxLength: names.length,
      }),
      menteePicks: fc.array(fc.shuffledSubarray(names), { minLength: names.length, maxLength: names.length }),
      keyCounts: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: names.length, maxLength: names.length }),
      forwarding: fc.array(fc.constantFrom<boolean | undefined>(undefined, false, true), {
        minLength: names.length,
        maxLength: names.length,
      }),
      keys: fc.uniqueArray(arbKeyBytes, {
        minLength: 2 * names.length,
        maxLength: 2 * names.length,
        selector: (b) => Buffer.from(b).toString("hex"),
      }),
    }),
  )
  .map(({ names, roles, menteePicks, keyCounts, keys, forwarding }) => ({
    team: "acme",
    developers: names.map((name, i): DevSpec => {
      const mentees = menteePicks[i]!.filter((m) => m !== name);
      return {
        name,
        role: roles[i],
        keys: keys.slice(2 * i, 2 * i + keyCounts[i]!).map((b) => ed25519PublicKey(b, `${name}@laptop`)),
        ...(roles[i] === "senior" && mentees.length > 0 ? { mentees } : {}),
        ...(forwarding[i] !== undefined ? { forwarding: forwarding[i] } : {}),
      };
    }),
  }));
