// Reading a stack's exported state (`pulumi stack export`, Automation API exportStack)
// for the operations commands (drift, forget-server): which steps belong to which server,
// how each step reaches its server, and the files a step wrote. Pure: plain JSON in,
// plain data out; no @pulumi imports.

/** One resource of an exported deployment (the fields we read). */
export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  parent?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  /** Set on the old copy of a replaced resource whose deletion has not happened yet. */
  delete?: boolean;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

/** How a step reached its server when it last ran. */
export interface StepConnection {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  /** Private key file (ssh executor); undefined for the command executor (key is a secret). */
  keyPath?: string;
}

/** A provisioning step of one server, as recorded in the state. */
export interface StateStep {
  urn: string;
  /** Resource name, e.g. `dev-wes-sudoers-marcus`. */
  name: string;
  server: string;
  /** The script as last applied ("" for steps with no script). */
  script: string;
  /** Set for steps that run on the server (not for local steps such as the readiness gate). */
  connection?: StepConnection;
  /** The old copy of a replaced step, still waiting for its undo (an `up` that failed there). */
  pendingDelete: boolean;
}

const DEV_SERVER = "agent-runtime:index:DevServer";
const SERVER_ACCESS = "agent-runtime:index:ServerAccess";

export const urnName = (urn: string) => urn.split("::").pop() ?? urn;

/** The resources of an exported deployment (`{ version, deployment: { resources } }`). */
export function resourcesOf(exported: unknown): StateResource[] {
  const d = (exported as { deployment?: { resources?: StateResource[] } } | undefined)?.deployment;
  return d?.resources ?? [];
}

/** The server a resource belongs to: its nearest DevServer ancestor, or ServerAccess `<server>-access`. */
export function serverOf(r: StateResource, byUrn: Map<string, StateResource>): string | undefined {
  for (
    let p = r.parent ? byUrn.get(r.parent) : undefined, hops = 0;
    p && hops < 20;
    p = p.parent ? byUrn.get(p.parent) : undefined, hops++
  ) {
    if (p.type === DEV_SERVER) return urnName(p.urn);
    if (p.type === SERVER_ACCESS) return urnName(p.urn).replace(/-access$/, "");
  }
  return undefined;
}

/** A step is a script resource (either executor): it has an undo, or a create/delete command. */
function isStep(r: StateResource): boolean {
  const i = r.inputs ?? {};
  return r.custom !== false && ("undo" in i || "create" in i || "delete" in i) && !r.type.startsWith("pulumi:providers:");
}

function connectionOf(i: Record<string, unknown>): StepConnection | undefined {
  const c = (i.connection as Record<string, unknown> | undefined) ?? i;
  if (typeof c.host !== "string" || typeof c.user !== "string") return undefined;
  return {
    host: c.host,
    port: Number(c.port ?? 22),
    user: c.user,
    hostKey: typeof c.hostKey === "string" ? c.hostKey : "",
    keyPath: typeof i.keyPath === "string" ? i.keyPath : undefined,
  };
}

/** Every step in the state with its server, script and connection. */
export function stepsOf(resources: StateResource[]): StateStep[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return resources.filter(isStep).flatMap((r) => {
    const server = serverOf(r, byUrn);
    if (!server) return [];
    const i = r.inputs ?? {};
    const script = typeof i.script === "string" ? i.script : typeof i.stdin === "string" ? i.stdin : "";
    return [{ urn: r.urn, name: urnName(r.urn), server, script, connection: connectionOf(i), pendingDelete: r.delete === true }];
  });
}

/** URNs that depend on any of `urns` (dependencies or property dependencies), transitively, excluding `urns`. */
export function dependentsOf(resources: StateResource[], urns: string[]): string[] {
  const dropped = new Set(urns);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of resources) {
      if (dropped.has(r.urn)) continue;
      const deps = [...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
      if (deps.some((d) => dropped.has(d))) {
        dropped.add(r.urn);
        grew = true;
      }
    }
  }
  return resources.map((r) => r.urn).filter((u) => dropped.has(u) && !urns.includes(u));
}

/** The `AR_NAME='value'` variables a rendered script starts with (src/render/script.ts quoting). */
export function scriptVars(script: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of script.matchAll(/^(AR_[A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm)) vars[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  return vars;
}

/** A file a step manages, with what it must contain. `uidOf`: the path holds `$UID` of that user. */
export interface ManagedFile {
  step: string;
  server: string;
  /** What the file is, for the table: `sudoers`, `sshd drop-in`, `slice drop-in`, `authorized_keys`, `shared helpers`. */
  kind: string;
  path: string;
  content: string;
  mode: string;
  owner: string;
  uidOf?: string;
}

/** The files the drift check compares, from the scripts the last `up` ran (so drift means
 *  "changed since agent-runtime wrote it", whatever team.yaml says now). */
export function managedFiles(steps: StateStep[]): ManagedFile[] {
  return steps.flatMap((s): ManagedFile[] => {
    if (s.pendingDelete) return [];
    const v = scriptVars(s.script);
    const base = { step: s.name, server: s.server };
    if (s.script.includes("# agent-runtime: templates/sudoers/install.sh") && v.AR_FILE !== undefined && v.AR_CONTENT !== undefined) {
      return [
        { ...base, kind: "sudoers", path: `/etc/sudoers.d/${v.AR_FILE}`, content: `${v.AR_CONTENT}\n`, mode: "440", owner: "root:root" },
      ];
    }
    if (s.script.includes("# agent-runtime: templates/sshd/apply.sh") && v.AR_CONTENT !== undefined) {
      const path = "/etc/ssh/sshd_config.d/00-agent-runtime.conf";
      return [{ ...base, kind: "sshd drop-in", path, content: `${v.AR_CONTENT}\n`, mode: "644", owner: "root:root" }];
    }
    if (s.script.includes("# agent-runtime: templates/users/human.sh") && v.AR_USER && v.AR_KEYS !== undefined) {
      const path = `/etc/ssh/agent-runtime/authorized_keys/${v.AR_USER}`;
      return [{ ...base, kind: "authorized_keys", path, content: `${v.AR_KEYS}\n`, mode: "644", owner: "root:root" }];
    }
    if (s.script.includes("# agent-runtime: templates/lib/install.sh") && v.AR_HELPERS && v.AR_HELPERS_TEXT !== undefined) {
      // Every other step sources these (templates/lib/load.sh): a repair re-runs the lib step.
      return [{ ...base, kind: "shared helpers", path: v.AR_HELPERS, content: v.AR_HELPERS_TEXT, mode: "644", owner: "root:root" }];
    }
    if (s.script.includes("# agent-runtime: templates/users/agent.sh") && v.AR_AGENT) {
      // Same text as the heredoc in templates/users/agent.sh (a unit test keeps them equal).
      const content = sliceDropIn(v);
      const path = "/etc/systemd/system/user-$UID.slice.d/50-agent-runtime.conf";
      return [{ ...base, kind: "slice drop-in", path, content, mode: "644", owner: "root:root", uidOf: v.AR_AGENT }];
    }
    return [];
  });
}

/** The slice drop-in agent.sh writes, from its variables. */
export function sliceDropIn(v: Record<string, string>): string {
  return [
    `# Managed by agent-runtime: limits for ${v.AR_AGENT} (agent of ${v.AR_OWNER}), from team.yaml.`,
    "[Slice]",
    `CPUQuota=${v.AR_CPU_QUOTA}`,
    `MemoryHigh=${v.AR_MEMORY_HIGH}`,
    `MemoryMax=${v.AR_MEMORY_MAX}`,
    `TasksMax=${v.AR_TASKS_MAX}`,
    "",
  ].join("\n");
}
