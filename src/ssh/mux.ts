// Connection sharing for the "ssh" executor: one ssh connection per server and key for a
// whole `pulumi up` (and 15 s after its last use), so every step after a server's first
// skips the ssh handshake and login (~0.5 s each on a loaded machine; a server's steps
// run one after another). Import-free (requires what it needs when called): the
// executor's dynamic provider is serialized into stack state with the functions it uses.

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

/** `-o ControlMaster=auto -o ControlPath=… -o ControlPersist=15` for one server, the socket
 *  named by a hash of everything in MuxTarget. [] (no sharing) unless `dir` is a directory
 *  of this user's alone (mode 0700, not a link): a socket someone else could have put
 *  there would carry our commands to a connection they opened. */
export function sshMuxOptions(dir: string, t: MuxTarget): string[] {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") return [];
  }
  let st: import("node:fs").Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return [];
  const id = createHash("sha256")
    .update(JSON.stringify([t.user, t.host, t.port, t.hostKey, t.keyPath]))
    .digest("hex")
    .slice(0, 24);
  return ["-o", "ControlMaster=auto", "-o", `ControlPath=${path.join(dir, id)}`, "-o", "ControlPersist=15"];
}
