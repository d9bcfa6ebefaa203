// The policy pack's checks as pure functions over resource inputs: no @pulumi import, so
// they are unit-tested with plain strings (test/unit/policy.test.ts) and the pack
// (index.ts) only wires them to resources. They re-check the *rendered* scripts, the
// last thing before a server: a bug in the plan or a renderer, or a hand-edited
// template, must not reach a host as a sudo rule to root or an agent without limits.

/** Agent users are `<human>-agent` (src/team/schema.ts AGENT_SUFFIX; a unit test keeps them equal). */
export const AGENT_SUFFIX = "-agent";

/** Resource types whose inputs carry a step's script: @pulumi/command and the ssh executor. */
export const STEP_TYPES: Record<string, string> = {
  "command:remote:Command": "stdin",
  "pulumi-nodejs:dynamic:Resource": "script",
};

/** Which provisioning step a resource is. */
export type StepKind = "sudoers" | "agent" | "sshd";

const TEMPLATE_KINDS: Record<string, StepKind> = {
  "sudoers/install.sh": "sudoers",
  "users/agent.sh": "agent",
  "sshd/apply.sh": "sshd",
};

/** The script a step runs (`stdin` or `script` input), or undefined for other resources. */
export function stepScript(type: string, props: Record<string, unknown>): string | undefined {
  const key = STEP_TYPES[type];
  const value = key ? props[key] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** The step's kind: from the script's `# agent-runtime: templates/…` header, else from the resource name. */
export function stepKind(name: string, script: string | undefined): StepKind | undefined {
  const header = script?.match(/^# agent-runtime: templates\/(\S+)$/m)?.[1];
  if (header !== undefined) return TEMPLATE_KINDS[header];
  // No header: judge by the name alone, so a step that lost its header is still checked (and fails).
  if (name.includes("-sudoers-")) return "sudoers";
  if (new RegExp(`-agent-[a-z_][a-z0-9_-]*${AGENT_SUFFIX}$`).test(name)) return "agent";
  if (name.endsWith("-sshd")) return "sshd";
  return undefined;
}

/** Value of `NAME='…'` as src/render/script.ts writes it; an error when missing or assigned twice. */
export function scriptVar(script: string, name: string): { ok: true; value: string } | { ok: false; message: string } {
  const all = [...script.matchAll(new RegExp(`^${name}=('(?:[^']|'\\\\'')*')?`, "gm"))];
  if (all.length === 0) return { ok: false, message: `the script does not set ${name}` };
  if (all.length > 1) return { ok: false, message: `the script sets ${name} ${all.length} times (only the last one would count)` };
  const quoted = all[0]![1];
  if (quoted === undefined) return { ok: false, message: `${name} is not a single-quoted literal` };
  return { ok: true, value: quoted.slice(1, -1).replace(/'\\''/g, "'") };
}

const USER_RE = /^[a-z_][a-z0-9_-]*$/;

/** Every sudoers line that grants root, a human user, or anything we can't prove is an agent user. */
export function sudoersViolations(content: string): string[] {
  const out: string[] = [];
  const lines = content.replace(/\\\n/g, " ").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const at = `sudoers line ${i + 1} "${line.slice(0, 80)}"`;
    if (/^[#@]include(dir)?\b/.test(line)) return void out.push(`${at}: includes other files, whose rules nobody checked`);
    if (line === "" || line.startsWith("#")) return;
    if (/^Defaults([:>@!]\S+)?\s/.test(line)) return;
    if (/^Runas_Alias\b/.test(line)) return void out.push(`${at}: a Runas_Alias can hide root or a human user behind a name`);
    if (/^(User|Host|Cmnd|Cmd)_Alias\b/.test(line)) return;
    const m = /^(\S+)\s+[^\s=]+\s*=\s*(.*)$/.exec(line);
    if (!m) return void out.push(`${at}: not a rule this policy can read`);
    const [, who, rest] = m as unknown as [string, string, string];
    // Without "(runas)" sudo runs the command as root; a second "host =" group starts over.
    const runas = /^\(([^)]*)\)/.exec(rest);
    if (!runas) return void out.push(`${at}: no runas list, so it runs as root`);
    if ((rest.match(/=/g) ?? []).length > 0 || (rest.match(/\(/g) ?? []).length > 1) {
      return void out.push(`${at}: more than one runas or host group; only "human ALL=(x${AGENT_SUFFIX}) NOPASSWD: ALL" is allowed`);
    }
    const [users, group] = runas[1]!.split(":");
    if (group !== undefined && group.trim() !== "") out.push(`${at}: may run as group "${group.trim()}"`);
    for (const target of users!.split(",").map((t) => t.trim())) {
      if (target === "" && group !== undefined) continue;
      if (target === "" || target === "ALL" || target === "root" || /^#0$/.test(target)) out.push(`${at}: targets root`);
      else if (!USER_RE.test(target)) out.push(`${at}: target "${target}" is not a plain user name (a group, uid or negation)`);
      else if (!target.endsWith(AGENT_SUFFIX)) out.push(`${at}: targets the human user "${target}"`);
      else if (target === who) out.push(`${at}: "${who}" targets itself`);
    }
  });
  return out;
}

/** The sudoers step's content (AR_CONTENT) checked with sudoersViolations. */
export function sudoersStepViolations(script: string): string[] {
  const content = scriptVar(script, "AR_CONTENT");
  return content.ok ? sudoersViolations(content.value) : [`sudoers step: ${content.message}`];
}

const LIMITS = [
  { key: "CPUQuota", variable: "AR_CPU_QUOTA", valid: /^[0-9]+(\.[0-9]+)?%$/, hint: "a percentage like 600%" },
  { key: "MemoryMax", variable: "AR_MEMORY_MAX", valid: /^[0-9]+(\.[0-9]+)?[KMGT]?$/, hint: "a size like 12G" },
  { key: "TasksMax", variable: "AR_TASKS_MAX", valid: /^[0-9]+$/, hint: "a number of tasks" },
] as const;

/** An agent step must set finite CPUQuota, MemoryMax and TasksMax and write them into the slice drop-in. */
export function agentLimitViolations(script: string): string[] {
  const out: string[] = [];
  const agent = scriptVar(script, "AR_AGENT");
  const who = agent.ok ? agent.value : "agent user";
  for (const l of LIMITS) {
    const v = scriptVar(script, l.variable);
    if (!v.ok) out.push(`${who}: ${l.key}: ${v.message}`);
    // "infinity", "0" or an empty value would be a slice with no limit at all.
    else if (!l.valid.test(v.value) || Number.parseFloat(v.value) <= 0)
      out.push(`${who}: ${l.key} "${v.value}" is not ${l.hint} above zero`);
    if (!new RegExp(`^${l.key}=\\$${l.variable}$`, "m").test(script))
      out.push(`${who}: the script never writes ${l.key}=$${l.variable} into the slice drop-in`);
  }
  if (!/^\[Slice\]$/m.test(script)) out.push(`${who}: the script writes no [Slice] drop-in`);
  return out;
}

/** Settings the global part of the drop-in must carry (sshd keeps the first value it reads). */
export const SSHD_REQUIRED: Record<string, string> = {
  pubkeyauthentication: "yes",
  passwordauthentication: "no",
  kbdinteractiveauthentication: "no",
  permitemptypasswords: "no",
  permitrootlogin: "no",
  x11forwarding: "no",
};

/** Settings the `Match User *-agent` block must carry. */
export const SSHD_AGENT_MATCH: Record<string, string> = { disableforwarding: "yes", permittty: "no" };

/** Settings the `Match Group agent-runtime-humans` block must carry: keys only from the
 *  root-owned file team.yaml writes, never from a file in the person's home. */
export const SSHD_HUMAN_MATCH: Record<string, string> = { authorizedkeysfile: "/etc/ssh/agent-runtime/authorized_keys/%u" };

/** Violations in an sshd drop-in's text. */
export function sshdConfigViolations(conf: string): string[] {
  const out: string[] = [];
  const blocks: { match: string; settings: Map<string, string> }[] = [{ match: "", settings: new Map() }];
  for (const raw of conf.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const [keyword, ...args] = line.split(/\s+/);
    const key = keyword!.toLowerCase();
    const value = args.join(" ");
    if (key === "match") blocks.push({ match: value, settings: new Map() });
    // First value wins, within each block as in sshd itself.
    else if (!blocks[blocks.length - 1]!.settings.has(key)) blocks[blocks.length - 1]!.settings.set(key, value);
  }
  const global = blocks[0]!.settings;
  for (const [key, want] of Object.entries(SSHD_REQUIRED)) {
    const got = global.get(key);
    if (got?.toLowerCase() !== want)
      out.push(`sshd: ${key} must be "${want}" before any Match (got ${got === undefined ? "nothing" : `"${got}"`})`);
  }
  if (!(global.get("denyusers") ?? "").split(/\s+/).includes(`*${AGENT_SUFFIX}`))
    out.push(`sshd: DenyUsers must include *${AGENT_SUFFIX} (agent users never log in over ssh)`);
  const agentBlock = blocks.find((b) => /^user\s+(\S+,)?\*-agent(,\S+)?$/i.test(b.match));
  if (!agentBlock) out.push(`sshd: no "Match User *${AGENT_SUFFIX}" block`);
  for (const [key, want] of Object.entries(SSHD_AGENT_MATCH)) {
    const got = agentBlock?.settings.get(key);
    if (agentBlock && got?.toLowerCase() !== want)
      out.push(`sshd: Match User *${AGENT_SUFFIX} must set ${key} ${want} (got ${got === undefined ? "nothing" : `"${got}"`})`);
  }
  const humanBlock = blocks.find((b) => /^group\s+agent-runtime-humans$/i.test(b.match));
  if (!humanBlock) out.push(`sshd: no "Match Group agent-runtime-humans" block`);
  for (const [key, want] of Object.entries(SSHD_HUMAN_MATCH)) {
    const got = humanBlock?.settings.get(key);
    if (humanBlock && got !== want)
      out.push(`sshd: Match Group agent-runtime-humans must set ${key} ${want} (got ${got === undefined ? "nothing" : `"${got}"`})`);
  }
  // A Match block may tighten, never loosen what the global part forbids.
  for (const b of blocks.slice(1)) {
    for (const [key, want] of Object.entries(SSHD_REQUIRED)) {
      const got = b.settings.get(key);
      if (got !== undefined && got.toLowerCase() !== want) out.push(`sshd: "Match ${b.match}" sets ${key} ${got}`);
    }
  }
  return out;
}

/** The sshd step: its drop-in must sort first in sshd_config.d, and its content pass sshdConfigViolations. */
export function sshdStepViolations(script: string): string[] {
  const out: string[] = [];
  const dropin = script.match(/^dropin=(\S+)$/m)?.[1];
  // Cloud images ship 50-cloud-init.conf with PasswordAuthentication yes: ours must be read first.
  if (!dropin || !/^\/etc\/ssh\/sshd_config\.d\/0[0-9]-[A-Za-z0-9_.-]+\.conf$/.test(dropin)) {
    out.push(`sshd: the drop-in ${dropin ?? "(not found)"} must be /etc/ssh/sshd_config.d/0N-….conf so it is read first`);
  }
  const conf = scriptVar(script, "AR_CONTENT");
  return conf.ok ? [...out, ...sshdConfigViolations(conf.value)] : [...out, `sshd step: ${conf.message}`];
}

const isWorld = (cidr: unknown) => typeof cidr === "string" && /\/0$/.test(cidr.trim());
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Inbound rules open to 0.0.0.0/0 or ::/0 on cloud firewalls and security groups (advisory). */
export function worldOpenIngress(type: string, props: Record<string, unknown>): string[] {
  const say = (what: string, cidrs: unknown[]) => cidrs.filter(isWorld).map((c) => `${what} admits ${String(c)} (the whole internet)`);
  const ports = (r: Record<string, unknown>) =>
    r.fromPort === r.toPort ? `port ${String(r.fromPort)}` : `ports ${String(r.fromPort)}-${String(r.toPort)}`;
  switch (type) {
    case "hcloud:index/firewall:Firewall":
      return list(props.rules).flatMap((r) => {
        const rule = r as Record<string, unknown>;
        return rule.direction === "in"
          ? say(`inbound ${String(rule.protocol)} port ${String(rule.port ?? "any")}`, list(rule.sourceIps))
          : [];
      });
    case "aws:ec2/securityGroup:SecurityGroup":
      return list(props.ingress).flatMap((r) => {
        const rule = r as Record<string, unknown>;
        return say(`ingress ${ports(rule)}`, [...list(rule.cidrBlocks), ...list(rule.ipv6CidrBlocks)]);
      });
    case "aws:ec2/securityGroupRule:SecurityGroupRule":
      return props.type === "ingress" ? say(`ingress ${ports(props)}`, [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)]) : [];
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      return say(`ingress ${ports(props)}`, [props.cidrIpv4, props.cidrIpv6]);
    default:
      return [];
  }
}
