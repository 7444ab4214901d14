/**
 * HTTP transport: `http(url, opts)` is an Executor for a remote host; `serve(opts)` exposes an
 * embedded kernel over HTTP (PROFILE §4–§5).
 */
export { http, HttpExecutor, type HttpOptions } from "./client.js";
export { serve, DEFAULT_BODY_LIMIT, TXN_HEADER, type ServeOptions, type ServerHandle, type ServedKernel, type ServedSession } from "./server.js";
export { loadTokenFile, parseTokenConfig, type TokenConfig, type TokenGrant } from "./auth.js";
export { errorFromResponse } from "../wire-errors.js";
