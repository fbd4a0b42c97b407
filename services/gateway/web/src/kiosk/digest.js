// The roster digest of docs/device-sync.md, from the contract: for each worker the profile
// exactly as received, as compact JSON with its keys sorted (Python's
// json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)), the lines sorted
// by code point, joined with "\n", UTF-8, SHA-256 in hex. An empty roster is the SHA-256 of
// nothing.

// Python orders strings by code point; JavaScript's < and sort() by UTF-16 code unit, which
// differ when a character above U+FFFF meets one in U+E000–U+FFFF.
export function compareCodePoints(a, b) {
  let i = 0;
  while (i < a.length && i < b.length) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

// JSON.stringify with every object's keys sorted by code point, recursively. Strings are
// escaped as Python escapes them with ensure_ascii=False (", \, and control characters only).
export function canonicalJson(value) {
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort(compareCodePoints);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function rosterDigest(profiles) {
  const lines = Array.from(profiles, canonicalJson).sort(compareCodePoints);
  return sha256Hex(lines.join("\n"));
}
