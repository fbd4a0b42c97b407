import { describe, expect, it } from "vitest";
import { canonicalJson, compareCodePoints, rosterDigest } from "./digest.js";

// Computed with the Python definition of docs/device-sync.md:
// sha256("\n".join(sorted(json.dumps(p, sort_keys=True, separators=(",", ":"),
//                                    ensure_ascii=False) for p in profiles)).encode())
const PROFILES = [
  {
    worker_id: "w-1",
    employee_id: "E100",
    display_name: "Ana Pérez",
    status: "Active",
    allowed_methods: ["FACE", "PIN"],
    pin_set: true,
  },
  {
    worker_id: "w-2",
    employee_id: "E101",
    display_name: "\uff21 fullwidth",
    status: "Active",
    allowed_methods: ["PIN"],
    pin_set: false,
  },
  {
    worker_id: "w-3",
    employee_id: "E102",
    display_name: "\u{1F600} smile",
    status: "Active",
    allowed_methods: ["PIN"],
    pin_set: false,
  },
  {
    worker_id: "w-4",
    employee_id: "E.1_03-x",
    display_name: "Zoë \"Q\" O'Neil\n\t\u0001 李 \\ /",
    status: "Pending",
    allowed_methods: [],
    pin_set: true,
    extra: { b: 1, a: null, é: [1, 2], Z: "z" },
  },
];
const PYTHON_LINE_4 =
  '{"allowed_methods":[],"display_name":"Zoë \\"Q\\" O\'Neil\\n\\t\\u0001 李 \\\\ /",' +
  '"employee_id":"E.1_03-x","extra":{"Z":"z","a":null,"b":1,"é":[1,2]},"pin_set":true,' +
  '"status":"Pending","worker_id":"w-4"}';

describe("the roster digest", () => {
  it("serialises a profile as Python's compact sorted-key JSON", () => {
    expect(canonicalJson(PROFILES[3])).toBe(PYTHON_LINE_4);
    expect(canonicalJson(PROFILES[0])).toBe(
      '{"allowed_methods":["FACE","PIN"],"display_name":"Ana Pérez","employee_id":"E100",' +
        '"pin_set":true,"status":"Active","worker_id":"w-1"}',
    );
  });

  it("orders by code point, as Python does", () => {
    expect(compareCodePoints("\u{1F600}", "\uff21")).toBe(1); // UTF-16 order says -1
    expect(compareCodePoints("a", "ab")).toBe(-1);
    expect(compareCodePoints("b", "b")).toBe(0);
  });

  it("matches the Python algorithm's test vectors", async () => {
    expect(await rosterDigest(PROFILES)).toBe(
      "5451a4a5a685831f557d3cacc3a598827f2f1085e7b64d2146e419a9fb571e55",
    );
    expect(await rosterDigest([...PROFILES].reverse())).toBe(
      "5451a4a5a685831f557d3cacc3a598827f2f1085e7b64d2146e419a9fb571e55",
    );
    expect(await rosterDigest(PROFILES.slice(0, 1))).toBe(
      "043ad222ef0658883f767f24770747eac994930bdbd2f7fd30ef77f5df80b08f",
    );
    expect(await rosterDigest([])).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});
