/**
 * Child process of the data-directory tests (argv: mode, data directory).
 *  - `hold`: opens the directory with `embedded()`, writes row [910, "child"], prints `ready`,
 *    and keeps it open until killed (or until stdin closes, then closes and exits).
 *  - `read`: for each directory given (argv[3...]), in turn: opens it, prints `ok <tables t and e
 *    as JSON>` or `error <name> <message>` (one line), closes it; then exits 0. A native crash
 *    shows as a signal or a non-zero exit instead.
 *  - `insert`: opens the directory and inserts [910, "child"]; prints `ok` or `error <name> <message>`.
 *  - `exit`: opens the directory, prints `ready`, and exits without closing it.
 */
import { embedded } from "../../../src/kernel/index.js";

const [mode, dir, ...more] = process.argv.slice(2);

function report(e: unknown): void {
  const err = e as Error;
  process.stdout.write(`error ${err.name} ${err.message.replace(/\n/g, " ")}\n`);
}

async function read(dataDir: string): Promise<void> {
  const ex = embedded({ dataDir });
  try {
    const out: Record<string, unknown> = {};
    for (const t of ["t", "e"]) out[t] = await ex.request({ verb: "get", path: `/state/app/${t}` });
    process.stdout.write(`ok ${JSON.stringify(out)}\n`);
  } catch (e) {
    report(e);
  }
  await ex.close().catch(() => undefined);
}

if (mode === "read") {
  for (const d of [dir!, ...more]) await read(d);
  process.exit(0);
}
const ex = embedded({ dataDir: dir! });
try {
  if (mode === "hold") {
    await ex.request({ verb: "put", path: "/state/app/t", key: [910], body: ["child"] });
    process.stdout.write("ready\n");
    process.stdin.resume();
    process.stdin.on("end", () => void ex.close().then(() => process.exit(0)));
  } else if (mode === "exit") {
    await ex.request({ verb: "get", path: "/healthz" });
    process.stdout.write("ready\n");
    process.exit(0);
  } else if (mode === "insert") {
    await ex.request({ verb: "put", path: "/state/app/t", key: [910], body: ["child"] });
    process.stdout.write("ok\n");
    await ex.close();
  }
} catch (e) {
  report(e);
  await ex.close().catch(() => undefined);
}
