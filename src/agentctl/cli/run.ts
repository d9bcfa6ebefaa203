import { spawn, spawnSync } from "node:child_process";

// Child processes for agentctl: always bounded in time, never reading a password from
// the terminal (sudo -n, ssh BatchMode), output collected whole.

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run `file args` with no stdin; killed (whole process) after `timeoutMs`. */
export function run(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 10_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${e.message}`, timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Run with the terminal (attach): returns the exit code. */
export function runInteractive(file: string, args: readonly string[]): number {
  const r = spawnSync(file, args, { stdio: "inherit" });
  return r.status ?? 1;
}

/** sudo's refusal in a sentence, never its password prompt (we always pass -n). */
export function sudoRefusal(stderr: string): string {
  const line = stderr.trim().split("\n").pop() ?? "";
  if (/a password is required|not allowed to execute|may not run sudo|is not in the sudoers/.test(stderr)) return "sudo refused";
  return line || "failed";
}
