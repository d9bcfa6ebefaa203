// Pure values for cloud servers: the image, the ports a dev server admits, allowFrom by
// address family, and the tags and labels on everything this program creates. Used by
// components/cloudHost.ts; tested without mocks.

/** Canonical's AWS account, owner of the official Ubuntu AMIs. */
export const CANONICAL_OWNER = "099720109477";
/** Ubuntu 24.04 (noble), amd64, gp3 root: the image every AWS dev server boots. */
export const UBUNTU_AMI_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";
/** Value of the `managed-by` tag / label on everything this program creates. */
export const MANAGED_BY = "agent-runtime";
/** Hetzner's rule for label values: ≤ 63 chars, alphanumeric at both ends, `-_.` inside. */
export const HCLOUD_LABEL_VALUE_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/** The tcp ports a dev server admits (ssh and et), deduplicated and sorted. */
export function inboundPorts(etPort: number): number[] {
  return [...new Set([22, etPort])].sort((a, b) => a - b);
}

/** allowFrom split by family (AWS keeps IPv4 and IPv6 in separate fields). The entries
 *  were validated with team.yaml (src/team/checks.ts); an IPv6 CIDR is the one with a colon. */
export function splitCidrs(cidrs: readonly string[]): { ipv4: string[]; ipv6: string[] } {
  return { ipv4: cidrs.filter((c) => !c.includes(":")), ipv6: cidrs.filter((c) => c.includes(":")) };
}

/**
 * A string as a valid hcloud label value. Team and user names are already close; only
 * their ends may be `-` or `_` (`wes_`), which Hetzner rejects, so those are trimmed.
 * Labels are informational here (nothing selects by them), so a trimmed value is fine.
 */
export function hcloudLabelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

/** Labels on every hcloud resource of one server. */
export function hcloudLabels(team: string, owner: string): Record<string, string> {
  return { team: hcloudLabelValue(team), developer: hcloudLabelValue(owner), "managed-by": MANAGED_BY };
}

/** Tags on every AWS resource of one server. */
export function awsTags(name: string, team: string, owner: string): Record<string, string> {
  return { Name: name, team, developer: owner, "managed-by": MANAGED_BY };
}
