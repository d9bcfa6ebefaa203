import { renderScript } from "./script";

// The agentctl step: install the bundle (src/agentctl/build.ts) keyed on its hash, and
// remove it on destroy. The bundle itself travels as the step's payload, never as text
// in the state (components/executor.ts).

/** templates/agentctl/install.sh for one server. */
export function agentctlScript(server: string, sha256: string): string {
  return renderScript("agentctl/install.sh", { AR_SERVER: server, AR_SHA256: sha256 });
}

/** templates/agentctl/remove.sh. */
export function agentctlRemoveScript(): string {
  return renderScript("agentctl/remove.sh", {});
}
