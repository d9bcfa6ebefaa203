import { defineConfig } from "vitest/config";

// Three projects: fast pure tests, end-to-end tests that boot real local hosts
// (systemd-nspawn) and drive the real Pulumi engine, and the same on QEMU VMs (vm). E2E files run one at a time:
// they share the machine's 2 cores and one host-pool network.
export default defineConfig({
  test: {
    // One file at a time: e2e files boot hosts on one network and share 2 cores.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/globalSetup.ts"],
          testTimeout: 15 * 60_000,
          hookTimeout: 15 * 60_000,
        },
      },
      {
        // Real-kernel proof (QEMU VMs, TCG): limits enforced, auditd running.
        test: {
          name: "vm",
          include: ["test/vm/**/*.test.ts"],
          globalSetup: ["test/vm/globalSetup.ts"],
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
