import { isIP } from "node:net";
import type { Locator, PathPart, TeamError } from "./errors";
import { formatPath, quoted, suggest } from "./errors";
import { LIMIT_DEFAULTS } from "./defaults";
import { AGENT_SUFFIX, MAX_NAME, PROVIDERS, SERVER_FIELDS, SIZE_RE, USERNAME_RE, type Provider } from "./schema";
import { looksPrivate, parsePublicKey } from "./sshKeys";
import { APT_LINE_HINT, checkAptLine } from "./aptLine";

export { checkAptLine } from "./aptLine";

// Cross-field rules zod cannot express. They run on the raw parsed data (not only on a
// schema-valid file) and skip anything malformed, so one run reports every error at once.

/** Names that exist on stock Debian/Ubuntu images, or that sudo/ssh treat specially. */
export const RESERVED_NAMES = new Set([
  "root",
  "daemon",
  "bin",
  "sys",
  "sync",
  "games",
  "man",
  "lp",
  "mail",
  "news",
  "uucp",
  "proxy",
  "www-data",
  "backup",
  "list",
  "irc",
  "gnats",
  "nobody",
  "nogroup",
  "_apt",
  "messagebus",
  "sshd",
  "syslog",
  "uuidd",
  "tcpdump",
  "tss",
  "landscape",
  "pollinate",
  "polkitd",
  "lxd",
  "dnsmasq",
  "ntp",
  "chrony",
  "systemd-network",
  "systemd-resolve",
  "systemd-timesync",
  "systemd-journal",
  "systemd-coredump",
  "sudo",
  "adm",
  "admin",
  "wheel",
  "staff",
  "users",
  "disk",
  "shadow",
  "utmp",
  "tty",
  "kmem",
  "dialout",
  "docker",
  "ubuntu",
  "debian",
  "ec2-user",
  "centos",
  "fedora",
  "operator",
  "ftp",
  "postgres",
  "mysql",
  "agent-runtime",
]);

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Every cross-field error in the raw document. */
export function checkTeam(raw: unknown, at: Locator): TeamError[] {
  if (!isObj(raw)) return [];
  const errors: TeamError[] = [];
  const push = (path: PathPart[], message: string, hint?: string) => errors.push(at.error(path, message, hint));
  const devs = arr(raw.developers);
  const defaults = isObj(raw.defaults) ? raw.defaults : {};

  const names = new Map<string, number>();
  devs.forEach((d, i) => {
    if (isObj(d) && typeof d.name === "string") {
      const first = names.get(d.name);
      if (first !== undefined) {
        push(["developers", i, "name"], `duplicate name "${d.name}" (also developers[${first}])`, "each person appears once");
      } else names.set(d.name, i);
    }
  });

  devs.forEach((d, i) => {
    if (!isObj(d)) return;
    if (typeof d.name === "string") checkName(d.name, ["developers", i, "name"], names, push);
    checkMentees(d, i, names, push);
    checkServer(d, i, defaults, push);
    checkLimits(d.limits, ["developers", i, "limits"], push);
    checkMergedLimits(d, i, defaults, push);
  });
  checkLimits(defaults.limits, ["defaults", "limits"], push);
  checkServerDefaults(defaults, push);
  checkKeys(devs, push);
  checkNetwork(defaults, push);
  checkAdminUsers(devs, defaults, at, push);
  return errors;
}

type Push = (path: PathPart[], message: string, hint?: string) => void;

function checkName(name: string, path: PathPart[], names: Map<string, number>, push: Push) {
  if (!USERNAME_RE.test(name)) {
    push(path, `${quoted(name, 40)} is not a valid Linux user name`, "use lower-case letters, digits, - and _, starting with a letter");
  } else if (name.length > MAX_NAME) {
    push(
      path,
      `"${name}" is too long: its agent user "${name}${AGENT_SUFFIX}" would exceed Linux's 32 characters`,
      `use at most ${MAX_NAME} characters`,
    );
  } else if (RESERVED_NAMES.has(name) || name.startsWith("systemd-")) {
    push(path, `"${name}" is reserved (a system user or group on the servers)`, "pick the person's own login name");
  } else if (name.endsWith(AGENT_SUFFIX)) {
    const owner = name.slice(0, -AGENT_SUFFIX.length);
    push(
      path,
      names.has(owner)
        ? `"${name}" collides with the agent user of "${owner}"`
        : `"${name}" ends in "${AGENT_SUFFIX}", which is reserved for agent users`,
      "agent users are created automatically; list only humans",
    );
  }
}

function checkMentees(d: Raw, i: number, names: Map<string, number>, push: Push) {
  const mentees = d.mentees;
  if (!Array.isArray(mentees)) return;
  if (d.role !== "senior" && mentees.length > 0) {
    const why = d.role === "lead" ? "a lead already reaches every developer's agent user" : "only seniors mentor";
    push(["developers", i, "mentees"], `mentees are only allowed on role "senior" (this is "${String(d.role ?? "developer")}")`, why);
  }
  const seen = new Set<string>();
  mentees.forEach((m, j) => {
    if (typeof m !== "string") return;
    const path = ["developers", i, "mentees", j];
    if (m === d.name) push(path, `"${m}" cannot mentor themselves`, "everyone already reaches their own agent user");
    else if (!names.has(m)) push(path, `mentee "${m}" is not in developers`, suggest(m, [...names.keys()]));
    if (seen.has(m)) push(path, `mentee "${m}" is listed twice`);
    seen.add(m);
  });
}

function checkServer(d: Raw, i: number, defaults: Raw, push: Push) {
  const server = isObj(d.server) ? d.server : {};
  const provider = (server.provider ?? defaults.provider ?? "hcloud") as Provider;
  if (!PROVIDERS.includes(provider)) return; // the schema already reported it
  const base = ["developers", i, "server"];
  for (const key of Object.keys(server)) {
    if (key === "provider") continue;
    const owner = PROVIDERS.find((p) => SERVER_FIELDS[p].includes(key));
    if (owner && owner !== provider) {
      push(
        [...base, key],
        `"${key}" is an ${owner} setting, but this server's provider is ${provider}`,
        `remove it, or set provider: ${owner}`,
      );
    }
  }
  if (provider === "existing") {
    const defs = isObj(defaults.server) && isObj(defaults.server.existing) ? defaults.server.existing : {};
    const merged = { ...defs, ...server };
    if (merged.host === undefined) push(base, "an existing server needs `host` (its IP address or DNS name)", "add server.host");
    else if (
      typeof merged.host === "string" &&
      !isIP(merged.host) &&
      !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(merged.host)
    ) {
      push([...base, "host"], `${quoted(merged.host, 60)} is not an IP address or host name`);
    }
    if (merged.hostKey === undefined) {
      push(
        base,
        "an existing server needs `hostKey` (its ssh host public key, pinned so the provisioner can't be fooled)",
        "copy /etc/ssh/ssh_host_ed25519_key.pub from the server",
      );
    } else if (typeof merged.hostKey === "string") {
      const parsed = parsePublicKey(merged.hostKey);
      if (!parsed.ok) push([...base, "hostKey"], parsed.message, parsed.hint);
    }
  }
}

function checkLimits(limits: unknown, path: PathPart[], push: Push) {
  if (!isObj(limits) || typeof limits.memory !== "string" || typeof limits.memoryHigh !== "string") return;
  if (!SIZE_RE.test(limits.memory) || !SIZE_RE.test(limits.memoryHigh)) return;
  if (sizeBytes(limits.memoryHigh) > sizeBytes(limits.memory)) {
    push(
      [...path, "memoryHigh"],
      `memoryHigh (${limits.memoryHigh}) is above memory (${limits.memory})`,
      "memoryHigh is the soft limit and must be ≤ memory",
    );
  }
}

/** A developer overriding only one of memory/memoryHigh must still end up with memoryHigh ≤ memory. */
function checkMergedLimits(d: Raw, i: number, defaults: Raw, push: Push) {
  const own = isObj(d.limits) ? d.limits : {};
  if ((own.memory === undefined) === (own.memoryHigh === undefined)) return; // neither, or both (checkLimits)
  const base: Raw = isObj(defaults.limits) ? defaults.limits : LIMIT_DEFAULTS;
  const memory = own.memory ?? base.memory;
  const high = own.memoryHigh ?? base.memoryHigh;
  if (typeof memory !== "string" || typeof high !== "string" || !SIZE_RE.test(memory) || !SIZE_RE.test(high)) return;
  if (sizeBytes(high) > sizeBytes(memory)) {
    const key = own.memory !== undefined ? "memory" : "memoryHigh";
    push(
      ["developers", i, "limits", key],
      `memoryHigh (${high}) is above memory (${memory}) once defaults.limits is merged in`,
      "set both memory and memoryHigh here",
    );
  }
}

/** `defaults.server.hcloud.instanceType` would be silently dropped: it is an aws setting. */
function checkServerDefaults(defaults: Raw, push: Push) {
  const server = isObj(defaults.server) ? defaults.server : {};
  for (const p of PROVIDERS) {
    const block = server[p];
    if (!isObj(block)) continue;
    for (const key of Object.keys(block)) {
      const owner = PROVIDERS.find((o) => SERVER_FIELDS[o].includes(key));
      if (owner && owner !== p)
        push(["defaults", "server", p, key], `"${key}" is an ${owner} setting, not ${p}`, `move it under defaults.server.${owner}`);
    }
  }
}

/** `16G` → bytes (base 1024, as systemd reads it). */
export function sizeBytes(size: string): number {
  const n = parseFloat(size);
  const unit = size.slice(-1);
  return Math.round(n * 1024 ** (["K", "M", "G", "T"].indexOf(unit) + 1));
}

function checkKeys(devs: unknown[], push: Push) {
  const owners = new Map<string, { who: string; path: string }>();
  devs.forEach((d, i) => {
    if (!isObj(d)) return;
    if (typeof d.sshKeys === "string" && looksPrivate(d.sshKeys)) {
      const parsed = parsePublicKey(d.sshKeys);
      if (!parsed.ok) push(["developers", i, "sshKeys"], parsed.message, parsed.hint);
    }
    arr(d.sshKeys).forEach((k, j) => {
      if (typeof k !== "string") return;
      const path = ["developers", i, "sshKeys", j];
      const parsed = parsePublicKey(k);
      if (!parsed.ok) return push(path, parsed.message, parsed.hint);
      const who = typeof d.name === "string" ? d.name : `developers[${i}]`;
      const prev = owners.get(parsed.key.blob);
      if (prev && prev.who === who)
        push(path, `this key (${parsed.key.fingerprint}) is listed twice for ${who}`, `remove one (also at ${prev.path})`);
      else if (prev)
        push(
          path,
          `this key (${parsed.key.fingerprint}) is also ${prev.who}'s key; keys are never shared`,
          "each person logs in with their own key",
        );
      else owners.set(parsed.key.blob, { who, path: `developers[${i}].sshKeys[${j}]` });
    });
  });
}

function checkNetwork(defaults: Raw, push: Push) {
  arr(defaults.allowFrom).forEach((c, i) => {
    if (typeof c !== "string") return;
    const path = ["defaults", "allowFrom", i];
    if (!isCidr(c)) push(path, `${quoted(c, 60)} is not a CIDR`, 'write it like "203.0.113.0/24" or "2001:db8::/32"');
    else if ((c === "0.0.0.0/0" || c === "::/0") && defaults.allowWorld !== true) {
      push(path, `${c} opens ssh and et to the whole internet`, "list your office/VPN ranges, or set defaults.allowWorld: true on purpose");
    }
  });
  const et = isObj(defaults.et) ? defaults.et : {};
  if (et.source === "apt-repo" && typeof et.aptLine !== "string") {
    push(["defaults", "et"], 'et source "apt-repo" needs `aptLine`', APT_LINE_HINT);
  }
  if (typeof et.aptLine === "string") {
    // Checked whatever the source: the line is root-owned config the moment it is used.
    const problem = checkAptLine(et.aptLine);
    if (problem) push(["defaults", "et", "aptLine"], problem, APT_LINE_HINT);
  }
  if (typeof et.source === "string" && et.source !== "none" && typeof et.signingKey !== "string") {
    push(
      ["defaults", "et"],
      `et source "${et.source}" needs \`signingKey\` (the repository's armored public key, pinned in team.yaml)`,
      "export it with gpg --armor --export, or set source: none",
    );
  }
  if (typeof et.signingKey === "string" && looksPrivate(et.signingKey) && !/PGP PUBLIC KEY/.test(et.signingKey)) {
    push(["defaults", "et", "signingKey"], "this is a private key; the repository's PUBLIC signing key belongs here");
  }
}

/**
 * A person named like the provisioner's login (`adminUser`) would be a managed human user
 * on the very account that manages the server: their keys, their sudo rule, their removal.
 */
function checkAdminUsers(devs: unknown[], defaults: Raw, at: Locator, push: Push) {
  const places: { user: string; path: PathPart[] }[] = [];
  const existing = isObj(defaults.server) && isObj(defaults.server.existing) ? defaults.server.existing : {};
  if (typeof existing.adminUser === "string")
    places.push({ user: existing.adminUser, path: ["defaults", "server", "existing", "adminUser"] });
  devs.forEach((d, i) => {
    if (isObj(d) && isObj(d.server) && typeof d.server.adminUser === "string")
      places.push({ user: d.server.adminUser, path: ["developers", i, "server", "adminUser"] });
  });
  devs.forEach((d, i) => {
    if (!isObj(d) || typeof d.name !== "string" || RESERVED_NAMES.has(d.name)) return; // checkName reported it
    const same = places.filter((p) => p.user === d.name);
    if (same.length === 0) return;
    const where = same.map((p) => `${formatPath(p.path)} at line ${at.position(p.path).line}`).join(", ");
    push(
      ["developers", i, "name"],
      `"${d.name}" is also the adminUser the provisioner logs in as (${where})`,
      "a person cannot share the admin account: rename the person or use another adminUser",
    );
  });
}

/** True for an IPv4 or IPv6 CIDR with a host part of the right size. */
export function isCidr(c: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(c);
  if (!m) return false;
  const v = isIP(m[1]!);
  const bits = Number(m[2]);
  return (v === 4 && bits <= 32) || (v === 6 && bits <= 128);
}
