// What the vm tests read inside the VM: cgroup v2 files of a user's slice, sampled over
// a window by one script on the guest (its clock, its scheduler), parsed here. Pure
// helpers plus the guest-side script texts; no ssh in this file.

/** The cgroup directory of a user's slice on a cgroup v2 host. */
export const sliceDir = (uid: string | number): string => `/sys/fs/cgroup/user.slice/user-${uid}.slice`;

/** `key value` lines (cpu.stat, memory.events, pids.events) as numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.trim().split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Cores used by each cgroup over the window, and how often the kernel throttled it. */
export interface CpuWindow {
  seconds: number;
  cores: Record<string, number>;
  throttled: Record<string, number>;
}

/**
 * A guest script that samples cpu.stat of each cgroup in `dirs` before and after
 * `seconds`, printing `T <ns>` and `S <label> <usage_usec> <nr_throttled>` lines.
 * `during` runs in the background for the window (e.g. the human's own busy loop).
 */
export function cpuWindowScript(dirs: Record<string, string>, seconds: number, during = ""): string {
  const sample = Object.entries(dirs)
    .map(([label, dir]) => `echo "S ${label} $(awk '$1=="usage_usec"{u=$2} $1=="nr_throttled"{t=$2} END{print u, t}' ${dir}/cpu.stat)"`)
    .join("\n");
  return [
    "set -eu",
    during ? `${during} & bg=$!` : "bg=",
    // Let the loops reach their steady state before the window opens.
    "sleep 2",
    'echo "T $(date +%s%N)"',
    sample,
    `sleep ${seconds}`,
    'echo "T $(date +%s%N)"',
    sample,
    'if [ -n "$bg" ]; then kill "$bg"; fi',
  ].join("\n");
}

/** Parses cpuWindowScript output. */
export function parseCpuWindow(out: string): CpuWindow {
  const times = [...out.matchAll(/^T (\d+)$/gm)].map((m) => Number(m[1]));
  if (times.length !== 2) throw new Error(`cpu window: expected two T lines in:\n${out}`);
  const seconds = (times[1]! - times[0]!) / 1e9;
  const first: Record<string, [number, number]> = {};
  const cores: Record<string, number> = {};
  const throttled: Record<string, number> = {};
  for (const m of out.matchAll(/^S (\S+) (\d+) (\d+)$/gm)) {
    const [label, usage, thr] = [m[1]!, Number(m[2]), Number(m[3])];
    const before = first[label];
    if (!before) {
      first[label] = [usage, thr];
      continue;
    }
    cores[label] = (usage - before[0]) / 1e6 / seconds;
    throttled[label] = thr - before[1];
  }
  return { seconds, cores, throttled };
}

/** Guest programs the tests run as the agent (perl is in every Debian: perl-base is essential). */
export const GUEST_TOOLS: Record<string, string> = {
  // hog MiB [SECONDS]: touch MiB of memory, hold it, say so.
  "/usr/local/bin/ar-test-hog": `#!/usr/bin/perl
my $x = "a" x ($ARGV[0] * 1048576);
sleep($ARGV[1] // 0);
print "hog survived\\n";
`,
  // forker N SECONDS: fork up to N children that sleep; print how many forks succeeded.
  "/usr/local/bin/ar-test-forker": `#!/usr/bin/perl
my ($want, $hold) = @ARGV;
my $n = 0;
for (1 .. $want) {
  my $pid = fork;
  last unless defined $pid;
  if ($pid == 0) { sleep $hold; exit 0 }
  $n++;
}
print "forked $n\\n";
1 while wait() != -1;
`,
};

/** A root script that installs GUEST_TOOLS (0755, root-owned). */
export function installGuestTools(): string {
  return Object.entries(GUEST_TOOLS)
    .map(([file, text]) => `cat > ${file} <<'AR_EOF'\n${text}AR_EOF\nchmod 0755 ${file}`)
    .join("\n");
}
