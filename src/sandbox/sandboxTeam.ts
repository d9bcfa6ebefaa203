import { parseDocument } from "yaml";
import { serverName } from "../plan/access";

// The sandbox runs the example team on local hosts: same people and grants, but every
// server is an `existing` host from the pool, and each person's keys are replaced by a
// key pair the sandbox generated (so you can log in as them). Comments survive.

/** A pool host; its name is the server name (`dev-<owner>`). */
export interface SandboxHost {
  name: string;
  address: string;
  hostPublicKey: string;
}

export interface SandboxTeamOptions {
  hosts: SandboxHost[];
  /** person → public key line of the sandbox-generated key pair. */
  personKeys: Record<string, string>;
  /** An et apt source to use instead of the file's (the sandbox's fixture repo). */
  et?: { aptLine: string; signingKey: string; port?: number };
}

/** Rewrite a team file for sandbox hosts. Throws if a developer has no host. */
export function sandboxTeamYaml(text: string, opts: SandboxTeamOptions): string {
  const doc = parseDocument(text);
  doc.setIn(["defaults", "provider"], "existing");
  const devs = doc.get("developers") as { items: unknown[] } | undefined;
  const count = devs?.items.length ?? 0;
  for (let i = 0; i < count; i++) {
    const name = String(doc.getIn(["developers", i, "name"]));
    const host = opts.hosts.find((h) => h.name === serverName(name));
    if (!host) throw new Error(`sandbox: no host for developer "${name}"`);
    doc.setIn(
      ["developers", i, "server"],
      doc.createNode({ provider: "existing", host: host.address, port: 22, adminUser: "root", hostKey: host.hostPublicKey.trim() }),
    );
    const key = opts.personKeys[name];
    if (!key) throw new Error(`sandbox: no key for "${name}"`);
    doc.setIn(["developers", i, "sshKeys"], doc.createNode([key.trim()]));
  }
  if (opts.et) {
    doc.setIn(
      ["defaults", "et"],
      doc.createNode({ port: opts.et.port ?? 2022, source: "apt-repo", aptLine: opts.et.aptLine, signingKey: opts.et.signingKey }),
    );
  }
  return doc.toString();
}
