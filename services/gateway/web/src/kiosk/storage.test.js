import { describe, expect, it } from "vitest";
import { askPersistentStorage } from "./db.js";

const storage = ({ persisted = false, grant = true, fails = false } = {}) => {
  const calls = [];
  return {
    calls,
    async persisted() {
      calls.push("persisted");
      return persisted;
    },
    async persist() {
      calls.push("persist");
      if (fails) throw new Error("not allowed");
      return grant;
    },
  };
};

describe("persistent storage for the kiosk's outbox", () => {
  it("asks the browser to persist the storage", async () => {
    const s = storage();
    expect(await askPersistentStorage(s)).toBe("granted");
    expect(s.calls).toEqual(["persisted", "persist"]);
  });

  it("does not ask again when the storage is persistent already", async () => {
    const s = storage({ persisted: true });
    expect(await askPersistentStorage(s)).toBe("persisted");
    expect(s.calls).toEqual(["persisted"]);
  });

  it("says denied when the browser refuses, or fails", async () => {
    expect(await askPersistentStorage(storage({ grant: false }))).toBe("denied");
    expect(await askPersistentStorage(storage({ fails: true }))).toBe("denied");
  });

  it("says unsupported without the Storage API", async () => {
    expect(await askPersistentStorage(null)).toBe("unsupported");
    expect(await askPersistentStorage({})).toBe("unsupported");
  });
});
