import { defineConfig } from "tsup";

export default defineConfig({
  // The outbound-call worker runs in its own thread: built beside the bundle, loaded by path.
  entry: { index: "src/index.ts", cli: "src/cli.ts", "egress-worker": "src/kernel/egress/egress-worker.mjs" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "src/index.ts" } },
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  splitting: false,
  shims: true,
});
