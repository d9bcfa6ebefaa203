// CPU and memory of a session's process trees, from /proc. CPU is current: the change
// in utime+stime between two samples over the time between them (ps's %cpu is a
// lifetime average, which hides a loop that started a minute ago in a day-old session).

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, clock ticks. */
  ticks: number;
}

/** One /proc/<pid>/stat line. The command name may hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const f = text.slice(close + 2).split(" ");
  // After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  const ppid = Number(f[1]);
  const ticks = Number(f[11]) + Number(f[12]);
  return Number.isFinite(pid) && Number.isFinite(ppid) && Number.isFinite(ticks) ? { pid, ppid, ticks } : undefined;
}

/** The roots and all their descendants. */
export function descendants(roots: readonly number[], procs: readonly ProcStat[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return seen;
}

/** Percent of one core used by `pids` between two samples `seconds` apart. Processes
 *  that appeared in between count from zero; ones that ended are not counted. */
export function cpuPercent(pids: Set<number>, before: readonly ProcStat[], after: readonly ProcStat[], seconds: number, hz = 100): number {
  if (seconds <= 0) return 0;
  const was = new Map(before.map((p) => [p.pid, p.ticks]));
  let ticks = 0;
  for (const p of after) if (pids.has(p.pid)) ticks += Math.max(0, p.ticks - (was.get(p.pid) ?? 0));
  return Math.round((ticks / hz / seconds) * 1000) / 10;
}

/** VmRSS of /proc/<pid>/status, bytes (0 for kernel threads and zombies). */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
