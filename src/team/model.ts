import type { Limits, Provider, Role } from "./schema";
import type { SshPublicKey } from "./sshKeys";

// The validated, normalized team: what every later layer consumes. Defaults are applied,
// keys are parsed, and each person remembers where in team.yaml they came from so that
// every grant in a plan can point back at the line that caused it.

/** Where a fact came from in team.yaml. */
export interface Source {
  line: number;
  path: string;
}

export type ServerSpec =
  | { provider: "existing"; host: string; port: number; adminUser: string; hostKey: string }
  | { provider: "hcloud"; serverType: string; image: string; location: string }
  | { provider: "aws"; instanceType: string; volumeSize: number };

/** Limits with every field set (memoryHigh derived when absent). */
export type ResolvedLimits = Required<Limits>;

export interface Person {
  name: string;
  role: Role;
  keys: SshPublicKey[];
  server: ServerSpec;
  limits: ResolvedLimits;
  mentees: string[];
  /** ssh TCP/unix-socket/agent forwarding allowed for this person, on every server they reach. */
  forwarding: boolean;
  /** Where the person's entry, role and each mentee were written. */
  source: { entry: Source; role: Source; mentees: Record<string, Source> };
}

export interface EtSettings {
  port: number;
  source: "none" | "ubuntu-ppa" | "debian-upstream" | "apt-repo";
  aptLine?: string;
  signingKey?: string;
}

export interface Team {
  name: string;
  file: string;
  allowFrom: string[];
  allowWorld: boolean;
  et: EtSettings;
  /** Sorted by name, so nothing downstream depends on the order of the file. */
  people: Person[];
}

export type { Provider, Role, Limits };
