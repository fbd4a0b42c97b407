// The kiosk's client of the gateway's kiosk edge (/kiosk/v1, same origin), with the clock
// credential as a bearer token. Three kinds of failure: Unauthorized (401: the credential is
// unknown, rotated or revoked), NetworkError (no answer: offline, timeout), HttpError (any
// other status, with the edge's {code, message, field}). The credential is never logged.

import { HttpError, send } from "../shared/http.js";

export { HttpError };

const BASE = "/kiosk/v1";

export class Unauthorized extends Error {
  constructor() {
    super("This kiosk's credential was refused");
    this.name = "Unauthorized";
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super("The server cannot be reached");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export function createApi(credential, { fetchFn = globalThis.fetch, base = BASE } = {}) {
  async function request(method, path, body, { timeoutMs = 15000, signal, headers = {} } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort);
    let response;
    try {
      response = await send(
        base + path,
        {
          method,
          headers: {
            Authorization: `Bearer ${credential}`,
            Accept: "application/json",
            ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
            ...headers,
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          cache: "no-store",
          signal: controller.signal,
        },
        { fetchFn, onNetworkError: (error) => new NetworkError(error) },
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.status === 401) throw new Unauthorized();
    return { status: response.status, answer: data };
  }

  async function ok(method, path, body, options) {
    const { status, answer } = await request(method, path, body, options);
    if (status !== 200) throw new HttpError(status, answer);
    return answer;
  }

  return {
    whoami: () => ok("GET", "/whoami", undefined, { timeoutMs: 10000 }),
    sync: (body, signal) =>
      ok("POST", "/sync", body, { timeoutMs: (body.wait_s + 15) * 1000, signal }),
    // {status, answer}: 200 recorded/rejected, 202 pending, 4xx/5xx errors.
    punch: (attempt) => request("POST", "/punches", attempt, { timeoutMs: 20000 }),
    // A Manager / Administrator signs in ({status, answer}: 200, or 403 with the reason).
    signIn: (employeeId, pin) =>
      request("POST", "/sign-in", { employee_id: employeeId, pin }, { timeoutMs: 20000 }),
    // What a sign-in opens, with its elevation token.
    resyncRoster: (elevation) =>
      request("POST", "/roster/resync", undefined, { headers: { "X-Kiosk-Elevation": elevation } }),
    enrolFace: (elevation, body) =>
      request("POST", "/face-enrolments", body, {
        timeoutMs: 60000,
        headers: { "X-Kiosk-Elevation": elevation },
      }),
    result: (attemptId) =>
      request("GET", `/punches/${encodeURIComponent(attemptId)}`, undefined, {
        timeoutMs: 15000,
      }),
  };
}
