// Rebooting a pool VM from inside and waiting (bounded) until the new boot answers ssh
// and systemd has settled. QEMU keeps running across a guest reboot, with the same
// overlay disk, so everything provisioned must come back from disk alone.
import { sshExec, type PoolHost } from "../../src/sandbox/hostPool";

const ADMIN = "agent-runtime";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reboots `host` through the provisioner account; resolves with the old and new boot ids and the seconds it took. */
export async function rebootAndWait(host: PoolHost, limitMs = 10 * 60_000): Promise<{ before: string; after: string; seconds: number }> {
  const id = () => sshExec(host, "cat /proc/sys/kernel/random/boot_id", { user: ADMIN, timeoutMs: 30_000 });
  const first = await id();
  if (first.code !== 0) throw new Error(`${host.name}: no boot id before reboot: ${first.stderr}`);
  const before = first.stdout.trim();
  const start = Date.now();
  // The connection may drop before ssh reports the exit: its status says nothing.
  await sshExec(host, "sudo -n systemctl reboot", { user: ADMIN, timeoutMs: 30_000 });
  while (Date.now() - start < limitMs) {
    await sleep(3000);
    const r = await id();
    if (r.code === 0 && r.stdout.trim() !== before) {
      // "degraded" exits non-zero too: the tests read what they need themselves.
      await sshExec(host, "timeout 300 systemctl is-system-running --wait", { user: ADMIN, timeoutMs: 330_000 });
      return { before, after: r.stdout.trim(), seconds: (Date.now() - start) / 1000 };
    }
  }
  throw new Error(
    `${host.name}: no new boot answered ssh within ${limitMs / 1000} s (console log: /var/log/agent-runtime/console/ after teardown)`,
  );
}
