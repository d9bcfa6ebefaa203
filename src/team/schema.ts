import { z } from "zod";
import { ET_PORT, FORWARDING_DEFAULT } from "./defaults";

// The shape of team.yaml. Every object is strict: an unknown key is an error with a
// "did you mean" hint (see load.ts), because a typo in an access file must never be
// silently ignored. Cross-field rules (mentees exist, no shared keys, …) live in checks.ts.

/** Linux user name rule (shadow-utils' default, lower-case only). */
export const USERNAME_RE = /^[a-z_][a-z0-9_-]*$/;
/** The agent user of developer `wes` is `wes-agent`. */
export const AGENT_SUFFIX = "-agent";
/** Linux limits user names to 32 characters; `<name>-agent` must fit. */
export const MAX_NAME = 32 - AGENT_SUFFIX.length;

/** Size like `16G`, `512M`, `1.5T` (systemd's units, base 1024). */
export const SIZE_RE = /^[0-9]+(\.[0-9]+)?[KMGT]$/;

const size = (what: string) =>
  z
    .string({ error: `${what} must be a size like 16G, 512M or 1.5T` })
    .regex(SIZE_RE, { error: `${what} must be a size like 16G, 512M or 1.5T` });

/** Per-agent-user limits, applied to `user-<uid>.slice`. */
export const LimitsSchema = z.strictObject({
  /** CPU cores the agent user may use in total (CPUQuota = cores × 100%). */
  cpu: z.number({ error: "cpu must be a number of cores, e.g. 4 or 0.5" }).positive({ error: "cpu must be > 0 (cores)" }).max(1024),
  /** Hard memory cap (MemoryMax). */
  memory: size("memory"),
  /** Soft cap where the kernel starts reclaiming (MemoryHigh); defaults to 90% of memory. */
  memoryHigh: size("memoryHigh").optional(),
  /** Max processes+threads (TasksMax). */
  tasks: z.number().int({ error: "tasks must be a whole number" }).min(16, { error: "tasks below 16 would break a shell" }).max(4_194_304),
});
export type Limits = z.infer<typeof LimitsSchema>;

export const PROVIDERS = ["aws", "hcloud", "existing"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Per-provider server fields; which ones apply is checked in checks.ts against `provider`. */
export const SERVER_FIELDS: Record<Provider, readonly string[]> = {
  aws: ["instanceType", "volumeSize"],
  hcloud: ["serverType", "image", "location"],
  existing: ["host", "port", "adminUser", "hostKey"],
};

export const ServerSchema = z.strictObject({
  provider: z.enum(PROVIDERS).optional(),
  // aws
  instanceType: z.string().min(1).optional(),
  volumeSize: z.number().int().min(8).max(16384).optional(),
  // hcloud
  serverType: z.string().min(1).optional(),
  image: z.string().min(1).optional(),
  location: z.string().min(1).optional(),
  // existing
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  adminUser: z.string().regex(USERNAME_RE, { error: "adminUser must be a Linux user name" }).optional(),
  hostKey: z.string().min(1).optional(),
});
export type ServerInput = z.infer<typeof ServerSchema>;

export const ROLES = ["lead", "senior", "developer"] as const;
export type Role = (typeof ROLES)[number];

export const DeveloperSchema = z.strictObject({
  name: z.string(),
  role: z.enum(ROLES).default("developer"),
  sshKeys: z
    .array(z.string(), { error: 'sshKeys must be a list, one "- ssh-ed25519 AAAA…" item per key' })
    .min(1, { error: "at least one ssh public key is needed to log in" }),
  server: ServerSchema.optional(),
  limits: LimitsSchema.partial().optional(),
  mentees: z.array(z.string()).optional(),
  /** Allow this person's ssh sessions TCP/unix-socket/agent forwarding on the servers they reach. */
  forwarding: z.boolean({ error: "forwarding must be true or false" }).default(FORWARDING_DEFAULT),
});
export type DeveloperInput = z.infer<typeof DeveloperSchema>;

export const ET_SOURCES = ["none", "ubuntu-ppa", "debian-upstream", "apt-repo"] as const;

export const DefaultsSchema = z.strictObject({
  provider: z.enum(PROVIDERS).default("hcloud"),
  /** Defaults per provider, merged under each developer's `server`. */
  server: z
    .strictObject({
      aws: ServerSchema.omit({ provider: true }).optional(),
      hcloud: ServerSchema.omit({ provider: true }).optional(),
      existing: ServerSchema.omit({ provider: true }).optional(),
    })
    .default({}),
  /** Any field left out falls back to LIMIT_DEFAULTS (src/team/defaults.ts). */
  limits: LimitsSchema.partial().default({}),
  /** CIDRs admitted to ssh and et on cloud firewalls. */
  allowFrom: z.array(z.string()).default([]),
  /** Opt-in to `0.0.0.0/0` in allowFrom. */
  allowWorld: z.boolean().default(false),
  et: z
    .strictObject({
      port: z.number().int().min(1).max(65535).default(ET_PORT),
      source: z.enum(ET_SOURCES).default("none"),
      /** For source apt-repo: a `deb …` line and the repo's armored signing key. */
      aptLine: z.string().optional(),
      signingKey: z.string().optional(),
    })
    .default({ port: ET_PORT, source: "none" }),
});

export const TeamSchema = z.strictObject({
  team: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "team must be lower-case letters, digits and dashes (max 40)" }),
  defaults: DefaultsSchema.default(DefaultsSchema.parse({})),
  developers: z
    .array(DeveloperSchema, { error: 'developers must be a list, one "- name: …" item per person' })
    .min(1, { error: "a team needs at least one developer" }),
});
export type TeamInput = z.infer<typeof TeamSchema>;
