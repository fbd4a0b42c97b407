// The portal calls the admin API only through the client generated from the gateway's OpenAPI
// (shared/api.generated.js, bound in api.js): no page, component or hook sends a path of its own.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { createClient } from "../shared/api.generated.js";

const here = import.meta.dirname;

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.jsx?$/.test(entry.name) && !/\.test\.jsx?$/.test(entry.name) ? [path] : [];
  });
}

const files = sources(here)
  .filter((path) => relative(here, path) !== "api.js")
  .map((path) => ({ name: relative(here, path), text: readFileSync(path, "utf8") }));

describe("the portal's API calls", () => {
  it("finds the portal's pages", () => {
    expect(files.map((f) => f.name)).toContain(join("pages", "workers", "pin.jsx"));
  });

  it("never send a path by hand: api(\"…\") or get(\"…\")", () => {
    const byPath = /(?<![.\w])(?:api|get)\(\s*["'`]/g; // not headers.get("…")
    const found = files.flatMap((f) => (f.text.match(byPath) || []).map((m) => `${f.name}: ${m}`));
    expect(found).toEqual([]);
  });

  it("name only operations the generated client has", () => {
    const known = new Set(Object.keys(createClient(() => null)));
    const used = files.flatMap((f) => [...f.text.matchAll(/\bclient\.(\w+)/g)].map((m) => `${f.name}: ${m[1]}`));
    expect(used.length).toBeGreaterThan(40);
    expect(used.filter((u) => !known.has(u.split(": ")[1]))).toEqual([]);
  });
});
