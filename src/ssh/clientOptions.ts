// The system ssh client's options, spelled once for every TypeScript caller (the local
// host pool, the "ssh" executor): no config file, no agent, only the given key, host keys
// from one pinned file, never a prompt. Pure and import-free on purpose: the executor's
// dynamic provider is serialized into stack state, and a function without imports or
// module state serializes as plain source.

/** What varies between callers of sshClientOptions. */
export interface SshClientOptionsArgs {
  /** known_hosts file holding the host's pinned key (see knownHostsPattern). */
  hostKeyFile: string;
  /** true: only the pinned key is accepted. false: a host with no entry in hostKeyFile is
   *  accepted and recorded on first use (a changed key is still refused). */
  strict: boolean;
  /** Private key file: the only identity offered. */
  keyPath: string;
  port: number;
  /** Seconds to wait for the TCP connection. Defaults to 10. */
  connectTimeout?: number;
}

/** The client options (`-F none -o … -i KEY -p PORT`) that go before `user@host`. */
export function sshClientOptions(args: SshClientOptionsArgs): string[] {
  return [
    "-F",
    "none",
    "-o",
    `StrictHostKeyChecking=${args.strict ? "yes" : "accept-new"}`,
    "-o",
    `UserKnownHostsFile=${args.hostKeyFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${args.connectTimeout ?? 10}`,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "LogLevel=ERROR",
    // A server that dies mid-step ends the session within ~30 s instead of hanging `up`.
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
    "-i",
    args.keyPath,
    "-p",
    String(args.port),
  ];
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` on any other. */
export function knownHostsPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}
