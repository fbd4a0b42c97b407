// The admin API client: /api/v1 on the same origin, a bearer token that is refreshed on a 401,
// and one error shape ({code, message, field}) for every failure, including "the server cannot
// be reached". Tokens live in sessionStorage: closing the tab signs the admin out.
//
// Refresh is single-flight: a refresh token is single use, and the gateway revokes the whole
// sign-in when one is presented twice (reuse detection). So when several requests meet an
// expired access token at once (a page loads its lists in parallel), one refresh runs and the
// others wait for it, then retry with the new token; a request whose token was already
// replaced by the time its 401 arrives simply retries with the current one.

import { createClient } from "../shared/api.generated.js";
import { HttpError, readBody, send as sendHttp, withQuery } from "../shared/http.js";

const BASE = "/api/v1";
const KEY = "punchcard.session";

export class ApiError extends HttpError {
  constructor(status, body) {
    super(status, body);
    this.name = "ApiError";
  }
}

let session = load();
const listeners = new Set();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function save(next) {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(session));
}

export function onSession(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const signedIn = () => session !== null;

const parse = readBody;

const send = (url, init) =>
  sendHttp(url, init, {
    fetchFn: (...args) => fetch(...args),
    onNetworkError: () =>
      new ApiError(0, {
        code: "NETWORK",
        message: "The server cannot be reached. Check the connection and try again.",
      }),
  });

export async function signIn(email, password) {
  const form = new URLSearchParams({ username: email, password });
  const response = await send(`${BASE}/auth/token`, { method: "POST", body: form });
  const body = await parse(response);
  if (!response.ok) throw new ApiError(response.status, body);
  save({ access: body.access_token, refresh: body.refresh_token });
}

/** Change the signed-in admin's own password (POST /me/password). The gateway ends every
 * session of theirs and answers this one's new token pair, which replaces the old one here
 * (the old refresh token is revoked: refreshing with it would sign the admin out). A wrong
 * current password: ApiError 403 WRONG_PASSWORD, field current_password. */
export async function changePassword(current, next) {
  const body = await client.changePassword({ json: { current_password: current, new_password: next } });
  save({ access: body.access_token, refresh: body.refresh_token });
}

/** Sign out: this tab forgets the session at once, and the gateway revokes the sign-in's
 * refresh tokens (POST /auth/logout), so a copied token is worthless too. */
export async function signOut() {
  const token = session?.refresh;
  me = null;
  save(null);
  if (!token) return;
  try {
    await fetch(`${BASE}/auth/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
  } catch {
    // Offline: the tokens expire by themselves (the refresh token in 14 days).
  }
}

let me = null;
/** The signed-in admin (GET /me), asked once per sign-in. */
export function whoAmI() {
  me = me || client.getMe().catch((e) => {
    me = null;
    throw e;
  });
  return me;
}

let refreshing = null;

/**
 * After a 401 for a request sent with access token `spent`: true when a newer token is in hand
 * (refreshed now, by another request, or before this one's 401 came back), false when the
 * session is over. At most one refresh is ever in flight.
 */
export function renewAfter401(spent) {
  if (session?.access && session.access !== spent) return Promise.resolve(true);
  if (!refreshing) {
    refreshing = refresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function refresh() {
  if (!session?.refresh) return false;
  const response = await send(`${BASE}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: session.refresh }),
  });
  if (!response.ok) return false;
  const body = await response.json();
  save({ access: body.access_token, refresh: body.refresh_token });
  return true;
}

const url = (path, query) => withQuery(BASE + path, query, location.origin);

/**
 * api("GET", "/workers", {query}) → parsed JSON (null for 204).
 * {json} sends a JSON body, {body} a FormData; {headers} more request headers (e.g. a
 * correction's Idempotency-Key); {raw: true} returns the Response (downloads).
 */
export async function api(method, path, { query, headers: more, json, body, raw = false } = {}) {
  let sentWith = null;
  const attempt = () => {
    const headers = { ...more, Accept: "application/json" };
    sentWith = session?.access || null;
    if (sentWith) headers.Authorization = `Bearer ${sentWith}`;
    let payload = body;
    if (json !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(json);
    }
    return send(url(path, query), { method, headers, body: payload });
  };
  let response = await attempt();
  if (response.status === 401 && (await renewAfter401(sentWith))) response = await attempt();
  if (response.status === 401) {
    if (session?.access === sentWith) save(null);
    throw new ApiError(401, { code: "UNAUTHENTICATED", message: "Please sign in again." });
  }
  if (raw && response.ok) return response;
  const parsed = await parse(response);
  if (!response.ok) throw new ApiError(response.status, typeof parsed === "object" ? parsed : null);
  return parsed;
}

export const get = (path, query) => api("GET", path, { query });

/** One function per admin API operation (generated from the gateway's OpenAPI:
 * shared/api.generated.js), e.g. `client.listWorkers({ query: { limit: 50 } })`, each sent
 * with the session's token like `api` itself. */
export const client = createClient(api);
