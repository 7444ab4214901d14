import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    typecheck: { enabled: true, include: ["tests/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two test files at once: vitest's default in a run is one worker fewer than the CPUs, one
    // on a 2-core machine, and the suite then took ~370 s; two take ~245 s there.
    maxWorkers: 2,
  },
});
