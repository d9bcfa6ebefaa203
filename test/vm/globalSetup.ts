// Once per vm run: what the e2e setup checks (root, nspawn, rootfs, stale pool), plus
// QEMU and the cached VM image (built here, not inside a test's hook timeout).
import * as fs from "node:fs";
import { ensureVmImage } from "../../src/sandbox/hostPool";
import { setup as e2eSetup, teardown } from "../e2e/globalSetup";

/** Checks QEMU, then runs the e2e setup and builds the VM image if needed. */
export async function setup(): Promise<void> {
  for (const [tool, pkg] of [
    ["qemu-system-x86_64", "qemu-system-x86"],
    ["qemu-img", "qemu-utils"],
  ]) {
    if (!["/usr/bin", "/usr/local/bin"].some((d) => fs.existsSync(`${d}/${tool}`))) {
      throw new Error(`vm tests need ${tool}: apt-get install -y ${pkg} (or run scripts/setup.sh --hosts)`);
    }
  }
  await e2eSetup();
  await ensureVmImage();
}

export { teardown };
