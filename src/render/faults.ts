import { agentUser } from "../plan/access";

// Test-only seams: renders broken on purpose, so the lockout tests can prove that a
// validator (visudo, sshd -t) stands between every render and the live system. They live
// here, not in the renderers, so the real renders carry no test fixtures. Enabled only by
// the `testFaults` stack config (see DevServer's `faults`).

/** Which renders to break (stack config `agent-runtime:testFaults`, JSON). */
export interface Faults {
  /** Break the sshd drop-in on every server. */
  readonly sshd?: boolean;
  /** Humans whose sudoers.d file is broken on every server they have one. */
  readonly sudoers?: readonly string[];
}

/** A line visudo rejects (unclosed runas list) in `human`'s own rule to their own agent. */
export function brokenSudoersLine(human: string): string {
  return `${human} ALL=(${agentUser(human)} NOPASSWD ALL\n`;
}

/** `human`'s sudoers.d file with brokenSudoersLine appended; the rest of the file is kept. */
export function breakSudoers(text: string, human: string): string {
  return `${text}${brokenSudoersLine(human)}`;
}

/** The sshd drop-in with a keyword `sshd -t` rejects appended. */
export function breakSshd(text: string): string {
  return `${text}ThisIsNotAnSshdKeyword yes\n`;
}
