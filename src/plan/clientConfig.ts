// What a person pastes on their laptop to reach a server: an ~/.ssh/config block and
// the matching et command. Pure strings; the address is filled in by the caller.

/** `Host dev-wes` block for `human`. */
export function sshConfigBlock(server: string, human: string, address: string, port: number): string {
  return [
    `Host ${server}`,
    `    HostName ${address}`,
    `    Port ${port}`,
    `    User ${human}`,
    `    IdentitiesOnly yes`,
    `    ForwardAgent no`,
    "",
  ].join("\n");
}

/** The et command (uses the Host block above for the ssh part). */
export function etCommand(server: string, etPort: number): string {
  return `et ${server}:${etPort}`;
}
