/**
 * `tinychain-orm verify --data-dir DIR`: checks a data directory without changing it
 * (src/kernel/storage/store-verify.ts) — the lock, the data file's checksum, every table's catalog
 * entry, rows, row count, schema and indexes. Prints a report; exit 0 when sound, 1 when not.
 */
export async function runVerify(dataDir: string): Promise<void> {
  const { verifyDataDir } = await import("../kernel/storage/store-verify.js");
  const report = await verifyDataDir(dataDir);
  const lines = [`tinychain-orm verify: data directory ${dataDir}`];
  for (const c of report.checked) lines.push(`  ok       ${c}`);
  for (const p of report.problems) lines.push(`  PROBLEM  ${p}`);
  lines.push(report.sound ? "sound" : `damaged: ${report.problems.length} problem(s)`);
  process.stdout.write(`${lines.join("\n")}\n`);
  process.exitCode = report.sound ? 0 : 1;
}
