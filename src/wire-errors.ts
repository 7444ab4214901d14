/**
 * Turns an HTTP error response into a typed `TcError`, whatever shape the host used: the v2 body
 * `{"<kind>": {"message": "...", "stack": [...]}}`, the v1 body `{"<kind>": "msg"}`, an empty body,
 * or a body that is not JSON at all (mapped by status). The host's message is kept; a v2 body's
 * `stack` and `pressure`, and a `Retry-After` header, are kept on the error (`remoteStack`,
 * `pressure`, `retryAfterMs`).
 */
import { errorOfKind, isErrorKind, kindOfStatus, type ErrorPressure, type TcError } from "./errors.js";

const MAX_MESSAGE = 500;

function shorten(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_MESSAGE ? `${one.slice(0, MAX_MESSAGE)}…` : one;
}

/**
 * The typed error for a non-2xx response.
 *
 * @example
 * ```ts
 * errorFromResponse(409, '{"conflict": {"message": "key exists", "stack": []}}'); // ConflictError("key exists")
 * errorFromResponse(404, "");                                                    // NotFoundError("HTTP 404 Not Found")
 * ```
 */
export function errorFromResponse(status: number, bodyText: string, headers?: Readonly<Record<string, string | string[] | undefined>>): TcError {
  const err = typedError(status, bodyText);
  const retry = retryAfterMs(headers?.["retry-after"]) ?? err.pressure?.retryAfterMs;
  if (retry !== undefined) err.retryAfterMs = retry;
  return err;
}

/** `Retry-After` in ms: delta-seconds, or an HTTP date (from now); undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function pressureOf(x: unknown): ErrorPressure | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return undefined;
  const p = x as Record<string, unknown>;
  const out: { reason?: string; resource?: string; retryAfterMs?: number; reliability?: string } = {};
  if (typeof p.reason === "string") out.reason = p.reason;
  if (typeof p.resource === "string") out.resource = p.resource;
  if (typeof p.retry_after_ms === "number" && Number.isFinite(p.retry_after_ms) && p.retry_after_ms >= 0) out.retryAfterMs = p.retry_after_ms;
  if (typeof p.reliability === "string") out.reliability = p.reliability;
  return out;
}

function typedError(status: number, bodyText: string): TcError {
  const byStatus = kindOfStatus(status);
  const text = bodyText.trim();
  if (text === "") return errorOfKind(byStatus, `HTTP ${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ""}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return errorOfKind(byStatus, `HTTP ${status}: ${shorten(text)}`);
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const keys = Object.keys(json);
    if (keys.length === 1 && isErrorKind(keys[0]!)) {
      const kind = keys[0]!;
      const detail = (json as Record<string, unknown>)[kind];
      if (typeof detail === "string") return errorOfKind(kind, detail);
      if (typeof detail === "object" && detail !== null && typeof (detail as { message?: unknown }).message === "string") {
        const d = detail as { message: string; stack?: unknown; pressure?: unknown };
        const err = errorOfKind(kind, d.message, detail as Record<string, unknown>);
        if (Array.isArray(d.stack) && d.stack.length > 0 && d.stack.every((l) => typeof l === "string")) err.remoteStack = d.stack as string[];
        const pressure = pressureOf(d.pressure);
        if (pressure) err.pressure = pressure;
        return err;
      }
      return errorOfKind(kind, `HTTP ${status}: ${shorten(text)}`);
    }
  }
  if (typeof json === "string") return errorOfKind(byStatus, json === "" ? `HTTP ${status}` : shorten(json));
  return errorOfKind(byStatus, `HTTP ${status}: ${shorten(text)}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
