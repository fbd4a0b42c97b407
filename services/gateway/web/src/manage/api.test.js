import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// A gateway stand-in: access tokens "A<n>", refresh tokens "R<n>", single use like the real one
// (a spent refresh token presented again revokes the sign-in).
function fakeGateway() {
  const gw = { valid: "A0", refreshToken: "R0", refreshes: 0, revoked: false, logouts: [] };
  gw.fetch = vi.fn(async (url, init = {}) => {
    const path = String(url);
    const json = (status, body) =>
      new Response(body === null ? null : JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      });
    if (path.endsWith("/auth/refresh")) {
      const { refresh_token } = JSON.parse(init.body);
      // Let parallel callers pile up before answering.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (gw.revoked || refresh_token !== gw.refreshToken) {
        gw.revoked = true;
        return json(401, { code: "UNAUTHENTICATED", message: "invalid or expired refresh token" });
      }
      gw.refreshes += 1;
      gw.valid = `A${gw.refreshes}`;
      gw.refreshToken = `R${gw.refreshes}`;
      return json(200, { access_token: gw.valid, refresh_token: gw.refreshToken });
    }
    if (path.endsWith("/auth/logout")) {
      gw.logouts.push(JSON.parse(init.body).refresh_token);
      return new Response(null, { status: 204 });
    }
    if (init.headers?.Authorization !== `Bearer ${gw.valid}`) {
      return json(401, { code: "UNAUTHENTICATED", message: "access token expired" });
    }
    if (path.endsWith("/me/password")) {
      // Like the gateway: every refresh token of the admin's is revoked, a new pair answered.
      const { current_password } = JSON.parse(init.body);
      if (current_password !== "the current one") {
        return json(403, { code: "WRONG_PASSWORD", message: "the current password is wrong", field: "current_password" });
      }
      gw.valid = "A-new";
      gw.refreshToken = "R-new";
      return json(200, { access_token: gw.valid, refresh_token: gw.refreshToken });
    }
    return json(200, { path });
  });
  return gw;
}

function memoryStorage(initial) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

let gw;
let client;
beforeEach(async () => {
  vi.resetModules();
  gw = fakeGateway();
  vi.stubGlobal("fetch", gw.fetch);
  vi.stubGlobal("location", { origin: "http://portal.test" });
  vi.stubGlobal(
    "sessionStorage",
    memoryStorage({ "punchcard.session": JSON.stringify({ access: "expired", refresh: "R0" }) }),
  );
  client = await import("./api.js");
});
afterEach(() => vi.unstubAllGlobals());

describe("refresh after a 401", () => {
  it("runs once for parallel requests, and every request succeeds", async () => {
    const answers = await Promise.all(
      ["/punches", "/workers", "/clocks", "/me"].map((p) => client.get(p)),
    );
    expect(answers.map((a) => a.path)).toEqual([
      "/api/v1/punches",
      "/api/v1/workers",
      "/api/v1/clocks",
      "/api/v1/me",
    ]);
    expect(gw.refreshes).toBe(1);
    expect(gw.revoked).toBe(false);
    expect(client.signedIn()).toBe(true);
  });

  it("does not refresh again for a 401 that arrives after the token was renewed", async () => {
    await client.get("/workers");
    expect(gw.refreshes).toBe(1);
    // A request sent with the old token, answered after the renewal: it just retries.
    expect(await client.renewAfter401("expired")).toBe(true);
    expect(gw.refreshes).toBe(1);
  });

  it("signs out when the refresh token is refused", async () => {
    gw.revoked = true;
    await expect(client.get("/workers")).rejects.toMatchObject({ status: 401 });
    expect(client.signedIn()).toBe(false);
  });
});

describe("sign out", () => {
  it("forgets the session and revokes the refresh token at the gateway", async () => {
    await client.get("/workers");
    await client.signOut();
    expect(client.signedIn()).toBe(false);
    expect(gw.logouts).toEqual(["R1"]);
  });
});

describe("change password", () => {
  it("keeps the new token pair, so the session goes on after the old tokens are revoked", async () => {
    await client.changePassword("the current one", "a new long password");
    expect(client.signedIn()).toBe(true);
    expect(JSON.parse(sessionStorage.getItem("punchcard.session"))).toEqual({ access: "A-new", refresh: "R-new" });
    expect((await client.get("/workers")).path).toBe("/api/v1/workers");
    // The next refresh presents the new refresh token (the old one would revoke the sign-in).
    gw.valid = "expired-later";
    expect(await client.renewAfter401("A-new")).toBe(true);
    expect(gw.revoked).toBe(false);
  });

  it("a wrong current password is the API's error for its field, and the session stays", async () => {
    await expect(client.changePassword("a guess", "a new long password")).rejects.toMatchObject({
      status: 403,
      code: "WRONG_PASSWORD",
      field: "current_password",
    });
    expect(client.signedIn()).toBe(true);
  });
});
