import { defineConfig } from "vitest/config";

/**
 * End-to-end tests: they start real tools, agents, coordinators, network
 * namespaces, Chromium or helm. Everything under test/, and these beside the
 * sources. They run one file at a time (they measure throughput on a 2-core
 * machine) with host-global names and ports from the run's test slot
 * (test/harness/slot.ts), so a second run on the same machine does not collide.
 */
const E2E = [
  "test/**/*.test.ts",
  // namespaces
  "lab/src/topology.test.ts",
  "lab/src/lab-services.test.ts",
  "agent/src/samplers/index.test.ts",
  // real ping and iperf3
  "agent/src/client-runner.test.ts",
];

export default defineConfig({
  test: {
    exclude: ["node_modules/**", "dist/**", "dist-dev/**", ".tools/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: ["node_modules/**", "dist/**", "dist-dev/**", ".tools/**", ...E2E],
          // Files in parallel (vitest's default), and all done before the e2e files start, so nothing competes with their measurements.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: E2E,
          // One file at a time, in one child process (vitest 3's per-project form of `fileParallelism: false`).
          poolOptions: { forks: { singleFork: true } },
          globalSetup: ["test/harness/global-setup.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
