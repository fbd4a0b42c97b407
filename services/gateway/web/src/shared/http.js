// The HTTP code both apps share: the one error shape of every Punchcard API ({code, message,
// field} with the status), reading an answer's body, a fetch that turns "no answer" into an
// error of the caller's choosing, and query strings without empty values.

export class HttpError extends Error {
  constructor(status, body) {
    super(body?.message || `Request failed (${status})`);
    this.name = "HttpError";
    this.status = status;
    this.code = body?.code || "ERROR";
    this.field = body?.field || null;
    this.body = body || null;
  }
}

/** The answer's body: parsed JSON, text, or null (204). */
export async function readBody(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) return response.json();
  return response.text();
}

/** fetch, throwing `onNetworkError(cause)` when no answer comes (offline, aborted). */
export async function send(url, init, { fetchFn = globalThis.fetch, onNetworkError } = {}) {
  try {
    return await fetchFn(url, init);
  } catch (error) {
    throw onNetworkError ? onNetworkError(error) : error;
  }
}

/** `path?k=v…` for the values given (undefined, null and "" are left out; an array repeats
 * its key: `worker_id=a&worker_id=b`). */
export function withQuery(path, query, origin = globalThis.location?.origin) {
  const u = new URL(path, origin || "http://localhost");
  const given = (v) => v !== undefined && v !== null && v !== "";
  for (const [k, v] of Object.entries(query || {})) {
    if (Array.isArray(v)) v.filter(given).forEach((item) => u.searchParams.append(k, item));
    else if (given(v)) u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}
