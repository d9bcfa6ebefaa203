// Every default of team.yaml in one place (the README's reference table mirrors this file).

/** Server settings used when neither the developer nor `defaults.server.<provider>` sets them. */
export const SERVER_DEFAULTS = {
  aws: { instanceType: "m7i.2xlarge", volumeSize: 100 },
  hcloud: { serverType: "cpx41", image: "ubuntu-24.04", location: "fsn1" },
  existing: { port: 22, adminUser: "root" },
} as const;

/** Agent limits used when team.yaml has no `defaults.limits`. */
export const LIMIT_DEFAULTS = { cpu: 4, memory: "8G", tasks: 4096 } as const;

/** MemoryHigh defaults to this fraction of MemoryMax, so reclaim starts before the OOM killer. */
export const MEMORY_HIGH_FRACTION = 0.9;

/** Whether a person's ssh sessions may forward TCP ports, unix sockets and their agent. */
export const FORWARDING_DEFAULT = false;

/** Eternal Terminal's port. */
export const ET_PORT = 2022;

/** Offboarding archives of a home: at most this many MB (uncompressed) and seconds; a
 *  cut archive is named `.TRUNCATED` and says why in its MANIFEST. */
export const ARCHIVE_LIMITS = { maxMB: 2048, timeoutSeconds: 300 } as const;

/** Stack config `agent-runtime:archiveDir`: where offboarding archives are copied on the
 *  machine running Pulumi, one folder per server (relative to the project directory). */
export const ARCHIVE_DIR_DEFAULT = "offboarding-archives";
