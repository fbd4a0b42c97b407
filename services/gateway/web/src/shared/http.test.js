import { describe, expect, it, vi } from "vitest";
import { createClient } from "./api.generated.js";
import { HttpError, readBody, send, withQuery } from "./http.js";

describe("the shared HTTP code", () => {
  it("reads the one error shape", () => {
    const error = new HttpError(409, { code: "CONFLICT", message: "taken", field: "email" });
    expect([error.status, error.code, error.message, error.field]).toEqual([
      409,
      "CONFLICT",
      "taken",
      "email",
    ]);
    const bare = new HttpError(502, null);
    expect([bare.code, bare.message, bare.field, bare.body]).toEqual([
      "ERROR",
      "Request failed (502)",
      null,
      null,
    ]);
  });

  it("reads JSON, text and no content", async () => {
    const json = new Response('{"a":1}', { headers: { "content-type": "application/json" } });
    expect(await readBody(json)).toEqual({ a: 1 });
    expect(await readBody(new Response("hello"))).toBe("hello");
    expect(await readBody(new Response(null, { status: 204 }))).toBeNull();
  });

  it("turns no answer into the caller's error", async () => {
    const fetchFn = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const onNetworkError = (cause) => new Error(`offline: ${cause.message}`);
    await expect(send("/x", {}, { fetchFn, onNetworkError })).rejects.toThrow(
      "offline: Failed to fetch",
    );
  });

  it("leaves empty query values out", () => {
    expect(withQuery("/api/v1/workers", { search: "", limit: 50, status: null }, "http://h")).toBe(
      "/api/v1/workers?limit=50",
    );
    expect(withQuery("/api/v1/face/enrolments", { worker_id: ["a", "", "b"], limit: 2 }, "http://h")).toBe(
      "/api/v1/face/enrolments?worker_id=a&worker_id=b&limit=2",
    );
  });
});

describe("the generated client", () => {
  it("sends each operation with its path parameters, query and body", async () => {
    const request = vi.fn(async () => ({}));
    const client = createClient(request);
    await client.listWorkers({ query: { limit: 10 } });
    await client.getWorker("w/1");
    await client.updateWorker("w1", { json: { name: "Ann" } });
    await client.assignWorkerToClock("c1", "w1");
    await client.getTimesheets({ query: { format: "csv" }, raw: true });
    expect(request.mock.calls).toEqual([
      ["GET", "/workers", { query: { limit: 10 } }],
      ["GET", "/workers/w%2F1", {}],
      ["PATCH", "/workers/w1", { json: { name: "Ann" } }],
      ["PUT", "/clocks/c1/workers/w1", {}],
      ["GET", "/timesheets", { query: { format: "csv" }, raw: true }],
    ]);
  });
});
