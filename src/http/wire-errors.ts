/**
 * Turns an HTTP error response into a typed `TcError`, whatever shape the host used: the v2 body
 * `{"<kind>": {"message": "...", "stack": [...]}}`, the v1 body `{"<kind>": "msg"}`, an empty body,
 * or a body that is not JSON at all (mapped by status).
 */
import { errorOfKind, isErrorKind, kindOfStatus, type TcError } from "../errors.js";

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
export function errorFromResponse(status: number, bodyText: string): TcError {
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
        return errorOfKind(kind, (detail as { message: string }).message, detail as Record<string, unknown>);
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
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
