import { AGENT_SUFFIX } from "../team/schema";
import { fill, template } from "./script";

/** Settings of the sshd drop-in that a team may tune. */
export interface SshdSettings {
  /** Keys an ssh-agent may offer before sshd gives up. Defaults to 10 (people carry several keys). */
  maxAuthTries?: number;
}

/** Content of /etc/ssh/sshd_config.d/00-agent-runtime.conf. */
export function renderSshdDropIn(s: SshdSettings = {}): string {
  return fill(template("sshd/00-agent-runtime.conf"), { MAX_AUTH_TRIES: s.maxAuthTries ?? 10, AGENT_SUFFIX });
}
