import { aptLineOrigin, ET_KEYRING } from "../team/aptLine";
import type { EtSettings, ResolvedLimits } from "../team/model";
import { renderAgentTmuxConf, renderPamHook, renderPamStack } from "./containment";
import { fill, renderScript, template } from "./script";

// What the runtime step writes on every server: et config and apt source, audit rules,
// the PAM hook and tmux config for agent sessions, and the systemd slice values for each
// agent user; and the step scripts that install and remove them.

/** Where renderEtPin's content goes. */
export const ET_PIN_FILE = "/etc/apt/preferences.d/agent-runtime-et";

/** apt line for the configured et source. The signing key is always the one in team.yaml. */
export function etAptLine(et: EtSettings): string {
  switch (et.source) {
    case "none":
      return "";
    case "ubuntu-ppa":
      // @CODENAME@ is filled on the server: one team may run several releases.
      return `deb [signed-by=${ET_KEYRING}] https://ppa.launchpadcontent.net/jgmath2000/et/ubuntu @CODENAME@ main`;
    case "debian-upstream":
      // The repository named in the EternalTerminal README's Debian section.
      return `deb [signed-by=${ET_KEYRING}] https://github.com/MisterTea/debian-et/raw/master/debian-source/ @CODENAME@ main`;
    case "apt-repo":
      return et.aptLine!;
  }
}

/**
 * apt preferences (ET_PIN_FILE) so the et source can supply only the `et` package: every
 * other version from its origin gets -1 (never installed). Per apt_preferences(5) the
 * first specific-form record (Package: et) matching a version decides its priority, and
 * generic (Package: *) records count only when no specific one matches, so et gets 500
 * whatever the order. Pinned by origin, i.e. the host in the apt line, because a Release
 * file's own fields (o=, l=) are written by the repository we are fencing in. For a file:
 * repository apt's origin is "", which fences every file: source on that server. Among
 * generic records the first match wins (apt 2.6, checked with apt-cache policy), so a
 * preferences.d file sorting before ours that pins the same origin higher overrides it.
 * "" for source none.
 */
export function renderEtPin(et: EtSettings): string {
  const line = etAptLine(et);
  if (!line) return "";
  const origin = aptLineOrigin(line);
  const stanza = (pkg: string, priority: number, why: string) =>
    [`Explanation: ${why}`, `Package: ${pkg}`, `Pin: origin "${origin}"`, `Pin-Priority: ${priority}`].join("\n");
  return (
    [
      stanza("*", -1, "agent-runtime: nothing but et may come from the et source"),
      stanza("et", 500, "agent-runtime: et itself, from the et source"),
    ].join("\n\n") + "\n"
  );
}

/** /etc/et.cfg: the team's port, telemetry off. */
export function renderEtCfg(port: number): string {
  return fill(template("runtime/et.cfg"), { PORT: port });
}

/** execve rules for one agent user, keyed `agent-exec-<agent>`. */
export function renderAgentAuditRules(agent: string, owner: string): string {
  return fill(template("audit/agent.rules"), { AGENT: agent, OWNER: owner });
}

/** systemd slice properties for team.yaml limits. */
export function sliceProperties(l: ResolvedLimits): { CPUQuota: string; MemoryHigh: string; MemoryMax: string; TasksMax: string } {
  return { CPUQuota: `${Math.round(l.cpu * 100)}%`, MemoryHigh: l.memoryHigh, MemoryMax: l.memory, TasksMax: String(l.tasks) };
}

/** The script that installs the runtime on a server (templates/runtime/base.sh). */
export function runtimeScript(et: EtSettings): string {
  return renderScript("runtime/base.sh", {
    AR_ET_SOURCE: et.source,
    AR_ET_APT_LINE: etAptLine(et),
    AR_ET_PIN: renderEtPin(et),
    AR_ET_KEY: et.signingKey ?? "",
    AR_ET_CFG: renderEtCfg(et.port),
    AR_PAM_HOOK: renderPamHook(),
    AR_PAM_STACK: renderPamStack(),
    AR_TMUX_CONF: renderAgentTmuxConf(),
    // Host hardening (templates/hardening/, README "Security scores").
    AR_SYSCTL: template("hardening/sysctl.conf"),
    AR_LIMITS: template("hardening/limits.conf"),
    AR_COREDUMP: template("hardening/coredump.conf"),
    AR_MODPROBE: template("hardening/modprobe.conf"),
    AR_PROFILE: template("hardening/profile.sh"),
    AR_LOGIN_DEFS: template("hardening/login.defs"),
    AR_ISSUE: template("hardening/issue"),
  });
}

/** Remove the runtime's files on destroy; packages stay (templates/runtime/remove.sh). */
export function runtimeRemoveScript(): string {
  return renderScript("runtime/remove.sh", {});
}
