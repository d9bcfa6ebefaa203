// Which agent users the caller may become, from sudo's own answer (`sudo -n -l`), and
// the ssh hosts the caller may reach, from their hop config. agentctl never widens this.

/** Agent users (`*-agent`) named as run-as users in `sudo -n -l` output. */
export function reachableAgents(sudoList: string): string[] {
  const found = new Set<string>();
  for (const line of sudoList.split("\n")) {
    const m = /^\s*\(([^)]*)\)/.exec(line);
    if (!m) continue;
    const runas = m[1]!.split(":")[0]!;
    for (const user of runas.split(",").map((u) => u.trim())) if (/^[a-z_][a-z0-9_-]*-agent$/.test(user)) found.add(user);
  }
  return [...found].sort();
}

/** `Host` names in ~/.ssh/agent-runtime.conf (written by agent-runtime's hop step). */
export function hopHosts(config: string): string[] {
  const hosts: string[] = [];
  for (const line of config.split("\n")) {
    const m = /^\s*Host\s+(\S+)\s*$/i.exec(line);
    if (m && !/[*?!]/.test(m[1]!)) hosts.push(m[1]!);
  }
  return [...new Set(hosts)];
}
