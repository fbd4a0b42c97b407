import { describe, expect, it } from "vitest";
import {
  addDays,
  browserZone,
  clockTime,
  countOf,
  dayLabel,
  daysSince,
  formatDate,
  formatDateTime,
  hours,
  inZone,
  isoDate,
  isoToZoned,
  isoWithOffset,
  localDate,
  localStamp,
  startOfDay,
  timeAgo,
  wallTime,
  workerLabel,
  zonedToIso,
} from "./format.js";

describe("counts and names", () => {
  it("counts with the right plural", () => {
    expect(countOf(1, "worker")).toBe("1 worker");
    expect(countOf(0, "worker")).toBe("0 workers");
    expect(countOf(3, "photo")).toBe("3 photos");
    expect(countOf(1, "try", "tries")).toBe("1 try");
    expect(countOf(2, "try", "tries")).toBe("2 tries");
    expect(countOf(2, "punch", "punches")).toBe("2 punches");
  });

  it("a worker: name and Employee ID", () => {
    expect(workerLabel({ name: "Ana Pérez", employee_id: "E-1001" })).toBe("Ana Pérez (E-1001)");
  });
});

describe("local dates", () => {
  it("YYYY-MM-DD of the local calendar, days away", () => {
    const now = new Date(2026, 0, 31, 10, 0);
    expect(localDate(now)).toBe("2026-01-31");
    expect(isoDate(0, now)).toBe("2026-01-31");
    expect(isoDate(1, now)).toBe("2026-02-01");
    expect(isoDate(-31, now)).toBe("2025-12-31");
    expect(isoDate()).toBe(localDate(new Date()));
  });

  it("adds days across months and years", () => {
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-01-01", -1)).toBe("2025-12-31");
  });

  it("a day's local midnight as an instant", () => {
    expect(startOfDay("")).toBeUndefined();
    expect(new Date(startOfDay("2026-01-12")).getTime()).toBe(new Date(2026, 0, 12).getTime());
  });

  it("RFC 3339 with the device's offset", () => {
    const at = new Date("2026-01-12T07:01:30.250Z");
    const text = isoWithOffset(at);
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
    expect(text.slice(0, 10)).toBe(localDate(at));
    expect(new Date(text).getTime()).toBe(at.getTime());
  });
});

describe("times in a zone", () => {
  const at = "2026-01-12T07:01:30+00:00";

  it("the kiosk's clock: HH:MM in the clock's zone, the device's if unknown", () => {
    expect(clockTime(at, "Europe/Madrid")).toBe("08:01");
    expect(clockTime(at, "America/New_York")).toBe("02:01");
    expect(clockTime(at, "Not/AZone")).toBe(clockTime(at));
    expect(clockTime("nonsense", "UTC")).toBe("");
  });

  it("the portal's date and time: '—' for none, the text itself when unreadable", () => {
    for (const f of [inZone, formatDateTime, formatDate]) {
      expect(f(null)).toBe("—");
      expect(f("")).toBe("—");
      expect(f("not a date")).toBe("not a date");
    }
  });

  it("a zone other than the browser's is named; the same instant reads the same", () => {
    const other = browserZone() === "Asia/Tokyo" ? "Europe/Madrid" : "Asia/Tokyo";
    const named = inZone(at, other);
    const parts = new Intl.DateTimeFormat(undefined, { timeZone: other, timeZoneName: "short" }).formatToParts(new Date(at));
    expect(named).toContain(parts.find((p) => p.type === "timeZoneName").value);
    expect(inZone(at, browserZone())).toBe(inZone(at));
    expect(formatDateTime(at, "Not/AZone")).toBe(formatDateTime(at));
    expect(formatDateTime(at, "UTC")).toBe(
      new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(new Date(at)),
    );
  });

  it("a day heading names the weekday", () => {
    expect(dayLabel("2026-01-12")).toBe(
      new Date(2026, 0, 12, 12).toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" }),
    );
  });
});

describe("wall times that carry their offset", () => {
  it("HH:MM as written where it happened", () => {
    expect(wallTime("2026-01-12T08:01:30+01:00")).toBe("08:01");
    expect(wallTime(null)).toBe("—");
    expect(wallTime("08:01")).toBe("08:01");
  });

  it("the date and the wall time, whatever the browser's zone", () => {
    expect(localStamp("2026-01-12T23:59:30-08:00")).toMatch(/, 23:59$/);
    expect(localStamp("2026-01-12T23:59:30-08:00")).toContain("2026");
    expect(localStamp(null)).toBe("—");
    expect(localStamp("garbage")).toBe("garbage");
  });
});

describe("datetime-local in a zone", () => {
  it("round-trips a wall time in the zone, across a DST change", () => {
    expect(zonedToIso("2026-01-12T08:00", "Europe/Madrid")).toBe("2026-01-12T07:00:00.000Z");
    expect(zonedToIso("2026-07-12T08:00", "Europe/Madrid")).toBe("2026-07-12T06:00:00.000Z");
    expect(zonedToIso("2026-01-12T08:00", "UTC")).toBe("2026-01-12T08:00:00.000Z");
    expect(isoToZoned("2026-07-12T06:00:00Z", "Europe/Madrid")).toBe("2026-07-12T08:00");
    expect(isoToZoned(zonedToIso("2026-03-29T12:30", "Europe/Madrid"), "Europe/Madrid")).toBe("2026-03-29T12:30");
  });

  it("an unknown zone is an error (the form says which rule)", () => {
    expect(() => zonedToIso("2026-01-12T08:00", "Not/AZone")).toThrow();
  });
});

describe("durations", () => {
  const now = Date.parse("2026-01-12T12:00:00Z");

  it("hours with two decimals", () => {
    expect(hours(7.5)).toBe("7.50");
    expect(hours(0)).toBe("0.00");
    expect(hours(null)).toBe("—");
    expect(hours(undefined)).toBe("—");
  });

  it("whole days since", () => {
    expect(daysSince("2026-01-02T12:00:00Z", now)).toBe(10);
    expect(daysSince("2026-01-02T12:00:01Z", now)).toBe(9);
  });

  it("time ago, coarser with age", () => {
    const ago = (s) => timeAgo(new Date(now - s * 1000).toISOString(), now);
    expect(timeAgo(null, now)).toBe("never");
    expect(ago(30)).toBe("just now");
    expect(ago(5 * 60)).toBe("5 min ago");
    expect(ago(3 * 3600)).toBe("3 h ago");
    expect(ago(47 * 3600)).toBe("47 h ago");
    expect(ago(4 * 86400)).toBe("4 days ago");
  });
});
