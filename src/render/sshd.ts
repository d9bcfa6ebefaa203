import { AGENT_SUFFIX } from "../team/schema";
import { breakSshd } from "./faults";
import { fill, renderScript, template } from "./script";

// The hardened sshd drop-in and the steps that apply it behind an `sshd -t` gate (the
// previous drop-in is restored when the new one is rejected) and remove it on destroy.

/** Settings of the sshd drop-in that a team may tune. */
export interface SshdSettings {
  /** Keys an ssh-agent may offer before sshd gives up. Defaults to 10 (people carry several keys). */
  maxAuthTries?: number;
}

/** Content of /etc/ssh/sshd_config.d/00-agent-runtime.conf. */
export function renderSshdDropIn(s: SshdSettings = {}): string {
  return fill(template("sshd/00-agent-runtime.conf"), { MAX_AUTH_TRIES: s.maxAuthTries ?? 10, AGENT_SUFFIX });
}

/** The drop-in text; `broken` appends breakSshd's line (test-only, proves the gate holds). */
export function sshdDropIn(settings?: SshdSettings, broken = false): string {
  const text = renderSshdDropIn(settings);
  return broken ? breakSshd(text) : text;
}

/** Install the drop-in behind `sshd -t`, keeping key login for `admin` (templates/sshd/apply.sh). */
export function sshdScript(settings: SshdSettings | undefined, admin: string, broken = false): string {
  return renderScript("sshd/apply.sh", { AR_CONTENT: sshdDropIn(settings, broken), AR_ADMIN: admin });
}

/** Remove the drop-in and reload; restores it if sshd would not start without it (templates/sshd/remove.sh). */
export function sshdRemoveScript(): string {
  return renderScript("sshd/remove.sh", {});
}
