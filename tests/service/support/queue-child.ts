/**
 * Child of the queue kill -9 test: opens the durable store in argv[2]; on the first round creates
 * the marks table, installs the counter and enqueues one task (its path is printed); then prints
 * "ready" and lets the worker run until it is killed.
 */
import { embedded } from "../../../src/kernel/index.js";
import { installService, queue } from "../../../src/service/index.js";
import { counter, MARKS, MARKS_TABLE } from "../support.js";

const [dir, round, to] = process.argv.slice(2) as [string, string, string];
const ex = embedded({ dataDir: dir });
if (round === "0") {
  await ex.request({ verb: "put", path: MARKS, body: MARKS_TABLE });
  await installService(ex, counter);
  const task = await queue(ex, counter).enqueue({ to: Number(to) });
  process.stdout.write(`task ${task.path}\n`);
} else {
  // Any call opens the kernel, which resumes the task.
  await ex.request({ verb: "get", path: "/service" });
}
process.stdout.write("ready\n");
setInterval(() => undefined, 1000);
