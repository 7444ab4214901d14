/** Work queues: `defineService`, `installService`, `queue(…).enqueue(…)` and task handles. */
export { defineService, installService, queue, type PollOptions, type ServiceDefinition, type TaskHandle, type TaskStatus } from "./task-queue.js";
