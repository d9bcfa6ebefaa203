// Connection sharing for the "ssh" executor: one ssh connection per server and key for
// the steps of one `pulumi up` (one dynamic-provider process), so every step after a
// server's first skips the ssh handshake and login (~0.5 s each on a loaded machine; a
// server's steps run one after another). Never across runs: each run's first connection
// to a server checks its host key against the pin again (a machine that now presents
// another key is refused before anything runs there). Import-free (requires what it
// needs when called): the executor's dynamic provider is serialized into stack state
// with the functions it uses.

/** What authenticates a connection: a shared one is only ever reused for the same. */
export interface MuxTarget {
  user: string;
  host: string;
  port: number;
  /** The pinned host key ("" = accepted on first use). */
  hostKey: string;
  keyPath: string;
}

/** Where the control sockets live: this user's own directory under the temp dir. */
export function sshMuxDir(): string {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  return path.join(os.tmpdir(), `agent-runtime-ssh-mux-${process.getuid?.() ?? "u"}`);
}

/** `-o ControlMaster=auto -o ControlPath=… -o ControlPersist=10` for one server: the socket
 *  in `<base>/<pid>/` (this process only), named by a hash of everything in MuxTarget.
 *  Directories of processes that are gone are removed. [] (no sharing) unless `base` and
 *  the process's directory are this user's alone (mode 0700, not a link): a socket
 *  someone else put there would carry our commands to a connection they opened. */
export function sshMuxOptions(base: string, t: MuxTarget, pid = process.pid): string[] {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const uid = process.getuid?.();
  const privateDir = (dir: string): boolean => {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") return false;
    }
    try {
      const st = fs.lstatSync(dir);
      return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o077) === 0;
    } catch {
      return false;
    }
  };
  if (!privateDir(base)) return [];
  for (const entry of fs.readdirSync(base)) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    try {
      process.kill(Number(entry), 0);
    } catch (e) {
      if ((e as { code?: string }).code === "ESRCH") fs.rmSync(path.join(base, entry), { recursive: true, force: true });
    }
  }
  const dir = path.join(base, String(pid));
  if (!privateDir(dir)) return [];
  const id = createHash("sha256")
    .update(JSON.stringify([t.user, t.host, t.port, t.hostKey, t.keyPath]))
    .digest("hex")
    .slice(0, 24);
  return ["-o", "ControlMaster=auto", "-o", `ControlPath=${path.join(dir, id)}`, "-o", "ControlPersist=10"];
}
