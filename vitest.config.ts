import { defineConfig } from "vitest/config";

// Four projects: fast pure tests, end-to-end tests that boot real local hosts
// (systemd-nspawn) and drive the real Pulumi engine (Debian 12, and two files again on
// Debian 13), and the same on QEMU VMs (vm). E2E files run one at a time:
// they share the machine's 2 cores and one host-pool network.
// What every project that boots nspawn hosts shares.
const e2eHosts = {
  globalSetup: ["test/e2e/globalSetup.ts"],
  testTimeout: 15 * 60_000,
  hookTimeout: 15 * 60_000,
};

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
          ...e2eHosts,
        },
      },
      {
        // The files whose subject differs between Debian releases (sshd, PAM, sudo,
        // systemd), again on Debian 13 hosts: OpenSSH 10, systemd 257, sudo 1.9.16.
        // Same pool and subnet as e2e (files run one at a time); only the rootfs differs.
        test: {
          name: "e2e-trixie",
          include: ["test/e2e/lifecycle.test.ts", "test/e2e/runtime.test.ts"],
          env: { AGENT_RUNTIME_ROOTFS_SUITE: "trixie" },
          ...e2eHosts,
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
