// Benchmark: `agentctl ls --all-servers` for the example team's lead with 4 servers × 10
// sessions, and the full-screen view's refresh cost. Boots its own hosts (pool
// "benchctl", subnet 10.213.70), provisions them with the real engine, prints a table and a summary
// line. Run as root: bash bench/agentctl.sh [runs]
import { readFileSync } from "node:fs";
import * as path from "node:path";
process.env.AGENT_RUNTIME_TEST_POOL ??= "benchctl";
process.env.AGENT_RUNTIME_TEST_SUBNET ??= "10.213.70";

async function main() {
  const { asPerson, asRoot, bootTeam, configure, renderTeam, teardownTeam, upOps } = await import("../test/e2e/harness");
  const runs = Number(process.argv[2] ?? 7);
  const team = readFileSync(path.join(__dirname, "../team.yaml"), "utf8");
  const env = await bootTeam(["marcus", "olga", "wes", "nadia"]);
  try {
    await upOps(await configure(env, renderTeam(env, team).yaml));
    for (const dev of ["marcus", "olga", "wes", "nadia"])
      for (let i = 0; i < 10; i++) {
        const r = await asPerson(env, dev, `dev-${dev}`, `agentctl new --name s${i} -- sleep 3600`);
        if (r.code !== 0) throw new Error(`dev-${dev}: ${r.stderr}`);
      }
    const timed = async (cmd: string) => {
      const out = await asPerson(
        env,
        "marcus",
        "dev-marcus",
        `s=$(date +%s%N); ${cmd} >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
      );
      if (out.code !== 0) throw new Error(out.stderr);
      return Number(out.stdout.trim());
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ls: number[] = [];
    const lsLocal: number[] = [];
    await timed("agentctl ls --all-servers"); // warm: ssh control connections
    for (let i = 0; i < runs; i++) ls.push(await timed("agentctl ls --all-servers"));
    for (let i = 0; i < runs; i++) lsLocal.push(await timed("agentctl ls"));
    const count = JSON.parse((await asPerson(env, "marcus", "dev-marcus", "agentctl ls --all-servers --json")).stdout).servers.flatMap(
      (s: { sessions: unknown[] }) => s.sessions,
    ).length;
    // The view's own figure: "refreshed … in N ms" in its status line, over several refreshes.
    await asPerson(env, "marcus", "dev-marcus", "tmux -L bench -f /dev/null new-session -d -x 200 -y 60 agentctl");
    await asPerson(env, "marcus", "dev-marcus", "tmux -L bench send-keys a");
    const refresh: number[] = [];
    for (let i = 0; i < 40 && refresh.length < runs; i++) {
      await new Promise((r) => setTimeout(r, 2100));
      const screen = (await asPerson(env, "marcus", "dev-marcus", "tmux -L bench capture-pane -p")).stdout;
      const m = /all servers · (\d+) sessions · refreshed \S+ in (\d+) ms/.exec(screen);
      if (m && Number(m[1]) === count) refresh.push(Number(m[2]));
    }
    const cpu = (await asRoot(env, "dev-marcus", "ps -o pcpu= -C node | sort -rn | head -1")).trim();
    // Text captures for the README: the lead's table and the view.
    const table = (await asPerson(env, "marcus", "dev-marcus", "agentctl ls --all-servers")).stdout;
    const view = (await asPerson(env, "marcus", "dev-marcus", "tmux -L bench capture-pane -p")).stdout;
    await asPerson(env, "marcus", "dev-marcus", "tmux -L bench kill-server");
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    console.log(`agentctl benchmark — ${new Date().toISOString()} — ${count} sessions on 4 servers, ${runs} runs, machine load ${load}`);
    console.log("what                                  median ms   min   max");
    const row = (what: string, xs: number[]) =>
      console.log(
        `${what.padEnd(38)}${String(median(xs)).padStart(9)} ${String(Math.min(...xs)).padStart(5)} ${String(Math.max(...xs)).padStart(5)}`,
      );
    row("agentctl ls --all-servers (wall)", ls);
    row("agentctl ls (this server only)", lsLocal);
    if (refresh.length) row("view refresh (collect, all servers)", refresh);
    console.log(`view process CPU (ps %cpu, lifetime): ${cpu}%`);
    console.log("\n--- agentctl ls --all-servers (as marcus on dev-marcus), first rows ---");
    console.log(table.split("\n").slice(0, 12).join("\n"));
    console.log("--- the view (agentctl, then a) ---");
    console.log(view.replace(/\n+$/, ""));
    console.log("---");
    console.log(
      `summary: ls --all-servers ${median(ls)} ms for ${count} sessions on 4 servers (goal ≤ 1000 ms); view refresh ${refresh.length ? median(refresh) : "n/a"} ms every 2 s`,
    );
  } finally {
    await teardownTeam(env);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
