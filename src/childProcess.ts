// Run a program with text on stdin and collect its output. Import-free (it requires what
// it needs when called) on purpose: the ssh executor's dynamic providers call it, and
// they are serialized into stack state together with the functions they use.

/** Exit code (-1 if killed) and the whole stdout and stderr. */
export interface ChildResult {
  code: number;
  out: string;
  err: string;
}

/** `file args…` with `input` on stdin and `env` added to this process's environment. */
export function runWithStdin(file: string, args: string[], input: string | Buffer, env: Record<string, string> = {}): Promise<ChildResult> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", (e) => resolve({ code: -1, out, err: `${err}${String(e)}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, out, err }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
