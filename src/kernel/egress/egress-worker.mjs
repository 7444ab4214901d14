/**
 * The worker thread of outbound calls (`remote-call.ts`): one HTTP request per call, made with
 * `fetch` under a timeout; the calling thread waits for the answer synchronously (synckit),
 * since ops run synchronously inside their transaction. Plain JavaScript: a worker thread
 * starts without a TypeScript loader (the build copies it beside the bundle as it is).
 */
import { runAsWorker } from "synckit";

runAsWorker(async (req) => {
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    return { ok: true, status: res.status, text: await res.text(), retryAfter: res.headers.get("retry-after") };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
});
