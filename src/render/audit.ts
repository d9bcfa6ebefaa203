import { renderScript, template } from "./script";

// The audit step: kernel audit settings, the watches, and the auditd.conf lines that keep
// an agent from erasing or flooding away the audit trail. Pure apart from reading the
// templates; the per-agent execve rules stay with each agent user (see runtime.ts).

/** Rules file with -D/-b/--backlog_wait_time/-r/-f. Sorts after every other rules.d file
 *  (Debian's audit.rules included): augenrules keeps the last -b/-f it reads. */
export const AUDIT_BASE_FILE = "zz-agent-runtime-base.rules";

/** Rules file with the watches. Sorts before 60-agent-runtime-<agent>.rules: the first
 *  matching syscall rule gives the record its key. */
export const AUDIT_WATCH_FILE = "50-agent-runtime.rules";

/** Kernel audit settings as `auditctl -s` names them. */
export interface AuditKernelSettings {
  backlog_limit: number;
  backlog_wait_time: number;
  rate_limit: number;
  failure: number;
}

const FLAGS: Record<string, keyof AuditKernelSettings> = {
  "-b": "backlog_limit",
  "--backlog_wait_time": "backlog_wait_time",
  "-r": "rate_limit",
  "-f": "failure",
};

/** /etc/audit/rules.d/AUDIT_BASE_FILE: -D, backlog, backlog wait, rate limit, failure mode. */
export function renderAuditBaseRules(): string {
  return template(`audit/${AUDIT_BASE_FILE}`);
}

/** /etc/audit/rules.d/AUDIT_WATCH_FILE: one key per concern (sudoers, sudo logs, sshd, PAM, cron, audit, files, limits). */
export function renderAuditWatches(): string {
  return template(`audit/${AUDIT_WATCH_FILE}`);
}

/** The settings the base rules give the kernel; throws on a line it does not know. */
export function auditKernelSettings(rules = renderAuditBaseRules()): AuditKernelSettings {
  const out: Partial<AuditKernelSettings> = {};
  for (const line of rules.split("\n")) {
    if (!line.trim() || line.startsWith("#") || line.trim() === "-D") continue;
    const m = /^(-b|--backlog_wait_time|-r|-f) (\d+)$/.exec(line);
    if (!m) throw new Error(`${AUDIT_BASE_FILE}: unexpected line "${line}" (only -D, -b, --backlog_wait_time, -r, -f belong here)`);
    out[FLAGS[m[1]!]!] = Number(m[2]);
  }
  for (const name of Object.values(FLAGS)) if (out[name] === undefined) throw new Error(`${AUDIT_BASE_FILE}: no ${name} setting`);
  return out as AuditKernelSettings;
}

/** The `key = value` lines enforced in /etc/audit/auditd.conf (comments dropped; one line per key). */
export function renderAuditdSettings(text = template("audit/auditd.conf.settings")): string {
  const seen = new Set<string>();
  const lines = text
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-z_]+) = (\S+)$/.exec(l);
      if (!m) throw new Error(`auditd.conf.settings: "${l}" is not a "key = value" line`);
      if (seen.has(m[1]!)) throw new Error(`auditd.conf.settings: ${m[1]} set twice`);
      seen.add(m[1]!);
      return l;
    });
  return lines.join("\n") + "\n";
}

/** Test seam: `root` prefixes every path the scripts touch ("" on servers); a script
 *  rendered for a scratch root carries the shared helpers (nothing installed them there). */
export interface AuditScriptOptions {
  root?: string;
}

/** The audit step: rules files, auditd.conf lines, then (outside containers) load and verify. */
export function auditScript(opts: AuditScriptOptions = {}): string {
  const kernel = auditKernelSettings();
  return renderScript(
    "audit/apply.sh",
    {
      AR_ROOT: opts.root ?? "",
      AR_BASE_FILE: AUDIT_BASE_FILE,
      AR_BASE_RULES: renderAuditBaseRules(),
      AR_WATCH_FILE: AUDIT_WATCH_FILE,
      AR_WATCH_RULES: renderAuditWatches(),
      AR_AUDITD_SETTINGS: renderAuditdSettings(),
      AR_KERNEL_SETTINGS: Object.entries(kernel)
        .map(([k, v]) => `${k} ${v}\n`)
        .join(""),
    },
    opts.root ? "inline" : "installed",
  );
}

/** Undo: remove both rules files and reload; auditd.conf lines and the logs stay. */
export function auditUndoScript(opts: AuditScriptOptions = {}): string {
  const vars = { AR_ROOT: opts.root ?? "", AR_BASE_FILE: AUDIT_BASE_FILE, AR_WATCH_FILE: AUDIT_WATCH_FILE };
  return renderScript("audit/remove.sh", vars, opts.root ? "inline" : "installed");
}
