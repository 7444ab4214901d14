/**
 * Import rules of src/ (`npm run check:deps`; `tests/layout.test.ts` checks them in `npm test`):
 * no import circles; the graph and ORM layers never import the kernel; the IR imports no layer
 * above it; storage does not know the algorithms that read it, and the table engine names no
 * structure derived from its rows (those register with it as observers).
 */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: { path: "^src/" }, to: { circular: true } },
    {
      name: "graph-orm-not-kernel",
      comment: "graph and orm compile to IR and talk to an Executor; they never load the kernel",
      severity: "error",
      from: { path: "^src/(graph|orm)/" },
      to: { path: "^src/(kernel|http)/" },
    },
    {
      name: "ir-is-the-bottom",
      severity: "error",
      from: { path: "^src/ir/" },
      to: { path: "^src/(kernel|http|orm|graph)/" },
    },
    {
      name: "storage-knows-no-algorithm",
      severity: "error",
      from: { path: "^src/kernel/storage/" },
      to: { path: "^src/kernel/(traverse|query|ops|state)/" },
    },
    {
      name: "engine-knows-no-derived-structure",
      comment: "derived structures register with the table engine as observers; the engine never names them",
      severity: "error",
      from: { path: "^src/kernel/storage/[^/]+$" },
      to: { path: "^src/kernel/storage/derived/" },
    },
    {
      name: "kernel-not-client-layers",
      severity: "error",
      from: { path: "^src/kernel/" },
      to: { path: "^src/(graph|orm|http)/" },
    },
    { name: "no-unresolvable", severity: "error", from: { path: "^src/" }, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
