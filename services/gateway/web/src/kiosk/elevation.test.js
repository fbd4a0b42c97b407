import { describe, expect, it } from "vitest";
import {
  elevationOf,
  elevationValid,
  forgetWarning,
  refusalText,
  screenAfterSignIn,
  settingsRows,
} from "./elevation.js";

const answer = (role, may) => ({
  worker_id: "w1",
  employee_id: "E1",
  name: "Grace",
  clock_role: role,
  may,
  elevation: "token",
  expires_at: "2026-03-02T08:05:00+00:00",
});

describe("a sign-in", () => {
  it("opens the settings for an Administrator and enrolment for a Manager", () => {
    expect(screenAfterSignIn(elevationOf(answer("ADMINISTRATOR", ["ENROL_FACE", "OPEN_SETTINGS"])))).toBe("settings");
    expect(screenAfterSignIn(elevationOf(answer("MANAGER", ["ENROL_FACE"])))).toBe("enrol");
    expect(screenAfterSignIn(elevationOf(answer("USER", [])))).toBe("camera");
    expect(screenAfterSignIn(null)).toBe("camera");
  });

  it("holds until it expires", () => {
    const e = elevationOf(answer("MANAGER", ["ENROL_FACE"]));
    const at = Date.parse("2026-03-02T08:05:00Z");
    expect(elevationValid(e, at - 1)).toBe(true);
    expect(elevationValid(e, at)).toBe(false);
    expect(elevationValid({ ...e, token: "" }, at - 1)).toBe(false);
  });
});

describe("refusals", () => {
  it("say why, with the tries left for a wrong PIN", () => {
    expect(refusalText(403, { code: "WRONG_PIN", attempts_remaining: 2 })).toBe("Wrong PIN — 2 tries left");
    expect(refusalText(403, { code: "WRONG_PIN", attempts_remaining: 1 })).toBe("Wrong PIN — 1 try left");
    expect(refusalText(403, { code: "KIOSK_ROLE_REQUIRED" })).toBe("Your role on this clock is for punching only");
    expect(refusalText(403, { code: "LOCKED_OUT" })).toBe("PIN locked — ask your manager");
    expect(refusalText(503, null)).toBe("The server is unavailable — try again");
    expect(refusalText(409, { code: "OTHER", message: "as the edge said" })).toBe("as the edge said");
  });
});

describe("the settings screen", () => {
  it("shows the clock, roster, last sync, connection, saved attempts and version", () => {
    const rows = settingsRows({
      clock: { name: "Front door", time_zone: "Europe/Madrid" },
      rosterSize: 1,
      syncedAt: null,
      online: false,
      saved: 2,
      version: "punchcard-kiosk-app 1.0.0",
    });
    expect(Object.fromEntries(rows)).toEqual({
      Clock: "Front door",
      "Time zone": "Europe/Madrid",
      Roster: "1 worker",
      "Last sync": "never",
      Connection: "Offline",
      "Saved attempts": "2",
      "App version": "punchcard-kiosk-app 1.0.0",
    });
  });

  it("warns that forgetting the clock deletes saved attempts", () => {
    expect(forgetWarning(0)).not.toMatch(/deleted/);
    expect(forgetWarning(1)).toMatch(/1 saved attempt not yet sent will be deleted/);
    expect(forgetWarning(3)).toMatch(/3 saved attempts/);
  });
});
