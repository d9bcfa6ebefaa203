import { cmp } from "../byteOrder";
import type { TeamPlan } from "../plan/access";

// The least-privilege probe: what `sudo -l -U` actually allows on each host, compared
// with what the plan says. Pure parsing and comparison here; running the probe over ssh
// lives in the sandbox module.

/** One finding: a grant present but not planned (extra) or planned but absent (missing). */
export interface AccessFinding {
  kind: "extra" | "missing";
  server: string;
  user: string;
  target: string;
}

/** Shell run (as root) on a host: every login-capable user and what sudo lets them become. */
export const PROBE_SCRIPT = [
  "set -eu",
  "getent passwd | awk -F: '$3 == 0 || ($3 >= 1000 && $3 < 60000) {print $1}' | sort | while read -r u; do",
  '  echo "== $u"',
  '  sudo -l -U "$u" 2>&1 || true',
  "done",
].join("\n");

/** Parse PROBE_SCRIPT output: user → set of run-as targets (`ALL` stays `ALL`). */
export function parseProbe(output: string): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  let user: string | undefined;
  let inRules = false;
  for (const line of output.split("\n")) {
    const head = /^== (\S+)$/.exec(line);
    if (head) {
      user = head[1]!;
      result.set(user, new Set());
      inRules = false;
      continue;
    }
    if (!user) continue;
    if (/may run the following commands/.test(line)) {
      inRules = true;
      continue;
    }
    const rule = inRules ? /^\s+\(([^)]*)\)/.exec(line) : null;
    if (rule) {
      const runas = rule[1]!.split(":")[0]!; // "(ALL : ALL)" → users part only
      for (const t of runas
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean))
        result.get(user)!.add(t);
    }
  }
  return result;
}

/** Compare one host's probe with the plan. `admin` may have ALL (the provisioner); nobody else. */
export function compareAccess(plan: TeamPlan, server: string, actual: Map<string, Set<string>>, admin = "agent-runtime"): AccessFinding[] {
  const planned = new Map<string, Set<string>>();
  for (const g of plan.servers.find((s) => s.name === server)?.grants ?? []) {
    if (!planned.has(g.human)) planned.set(g.human, new Set());
    planned.get(g.human)!.add(g.target);
  }
  planned.set(admin, new Set(["ALL"]));
  // root's own `ALL` comes from the distribution's /etc/sudoers, not from us.
  planned.set("root", new Set(["ALL"]));
  const findings: AccessFinding[] = [];
  for (const [user, targets] of actual) {
    if (user === "root" && targets.size === 0) continue;
    for (const t of targets) if (!planned.get(user)?.has(t)) findings.push({ kind: "extra", server, user, target: t });
  }
  for (const [user, targets] of planned) {
    if (user === "root" || (user === admin && !actual.has(admin))) continue;
    for (const t of targets) if (!actual.get(user)?.has(t)) findings.push({ kind: "missing", server, user, target: t });
  }
  return findings.sort((a, b) => cmp(a.user, b.user) || cmp(a.target, b.target));
}
