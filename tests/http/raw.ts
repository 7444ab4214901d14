/** Raw HTTP requests (no URL normalization), for sending exactly the bytes a hostile client would. */
import { request as httpRequest } from "node:http";
import { connect } from "node:net";

export interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** Sends one request with `path` as is; resolves with the status, headers and body. */
export function raw(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; agent?: false } = {},
): Promise<RawResult> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: Number(u.port), method, path, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text === "" ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Writes raw bytes on a socket and returns everything the server answers before closing. */
export function rawSocket(base: string, bytes: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(bytes));
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    sock.on("error", reject);
    sock.setTimeout(5000, () => {
      sock.destroy();
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** The kind and message of a v2 error body, or undefined when the body is not one. */
export function errorBody(r: RawResult): { kind: string; message: string } | undefined {
  const j = r.json as Record<string, { message?: unknown; stack?: unknown }> | undefined;
  if (!j || typeof j !== "object") return undefined;
  const keys = Object.keys(j);
  if (keys.length !== 1) return undefined;
  const d = j[keys[0]!];
  if (!d || typeof d.message !== "string" || !Array.isArray(d.stack)) return undefined;
  return { kind: keys[0]!, message: d.message };
}
