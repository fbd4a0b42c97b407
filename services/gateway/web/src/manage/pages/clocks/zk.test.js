// ZKTeco PUSH clocks in the portal (zk.js): return codes in words, a device's status as shown,
// where a device is pointed, and the registration body.
import { describe, expect, it } from "vitest";
import {
  adoptForm,
  deviceStatus,
  offsetText,
  comKeyChange,
  registrationBody,
  registrationProblem,
  returnCodeText,
  serverHint,
  skewText,
  unregisteredRows,
} from "./zk.js";

describe("a device's return codes", () => {
  it.each([
    [0, "0: done"],
    [-1, "-1: the command's parameters were refused"],
    [-2, "-2: the user's photo could not be transferred"],
    [-3, "-3: the device could not read or write its storage"],
    [-4, "-4: the device has no such data"],
    [-5, "-5: the device is out of space"],
    [-10, "-10: the user does not exist on the device"],
    [-22, "-22: the device does not know this command"],
    [-1002, "-1002: the device's firmware does not support this"],
    [-1003, "-1003: the device timed out"],
    [-1004, "-1004: the device's configuration does not match"],
    ["-10", "-10: the user does not exist on the device"],
  ])("%s is said in plain words", (code, text) => {
    expect(returnCodeText(code)).toBe(text);
  });

  it("an unknown code says so, and no code says nothing", () => {
    expect(returnCodeText(-7)).toBe("-7: a code this portal does not know");
    expect(returnCodeText(null)).toBe("");
    expect(returnCodeText(undefined)).toBe("");
  });
});

const zkClock = (device, status = "online") => ({ protocol: "ZK_PUSH", status, time_zone: "Europe/Madrid", device });

describe("a ZK clock's status", () => {
  it("shapes what the device reported", () => {
    const d = deviceStatus(
      zkClock({
        firmware: "Ver 8.0.4.2", users: 12, fingerprints: 30, faces: 0, punches: 1520, ip: "10.0.0.7",
        last_poll_at: "2026-12-02T08:00:00+00:00", skew_s: 185, skew_flagged: true, time_zone_offset: 60,
        attlog_stamp: "9999",
      }),
    );
    expect(d).toEqual({
      online: true,
      lastPollAt: "2026-12-02T08:00:00+00:00",
      firmware: "Ver 8.0.4.2",
      ip: "10.0.0.7",
      counts: [["Users", "12"], ["Fingerprints", "30"], ["Faces", "0"], ["Punches", "1520"]],
      skew: { text: "3 min 5 s behind", warn: true },
      offset: "UTC+01:00",
      stamp: "9999",
    });
  });

  it("an offline device with nothing counted yet, and no warning unless flagged", () => {
    const d = deviceStatus(zkClock({ firmware: null, users: null, skew_s: -4, skew_flagged: false }, "offline"));
    expect(d.online).toBe(false);
    expect(d.firmware).toBe("—");
    expect(d.counts[0]).toEqual(["Users", "—"]);
    expect(d.skew).toEqual({ text: "4 s ahead", warn: false });
    expect(d.offset).toBe("not told yet");
  });

  it("a kiosk app, or a ZK clock never heard from, has no device status", () => {
    expect(deviceStatus({ protocol: "KIOSK_APP", device: null })).toBeNull();
    expect(deviceStatus(zkClock(null))).toBeNull();
  });

  it("skews and offsets in words", () => {
    expect(skewText(0)).toBe("in time");
    expect(skewText(3725)).toBe("1 h 2 min 5 s behind");
    expect(skewText(-60)).toBe("1 min ahead");
    expect(skewText(null)).toBe("not measured yet");
    expect(offsetText(-300)).toBe("UTC-05:00");
    expect(offsetText(330)).toBe("UTC+05:30");
    expect(offsetText(0)).toBe("UTC+00:00");
    expect(offsetText("-05:00")).toBe("UTC-05:00");
  });
});

describe("registering a ZK clock", () => {
  const form = { protocol: "ZK_PUSH", serial_number: " CQZ7232360123 ", name: "Gate", site_id: "", time_zone: "UTC" };

  it("sends the protocol for a hardware clock only", () => {
    expect(registrationBody(form)).toEqual({
      serial_number: "CQZ7232360123", name: "Gate", site_id: "", time_zone: "UTC", protocol: "ZK_PUSH",
    });
    const kiosk = registrationBody({ ...form, protocol: "KIOSK_APP" });
    expect(kiosk).toEqual({ serial_number: "CQZ7232360123", name: "Gate", site_id: "", time_zone: "UTC" });
  });

  it("sends a hardware clock's Comm Key when one was typed, never a kiosk app's", () => {
    expect(registrationBody({ ...form, com_key: " 808080 " })).toMatchObject({ com_key: "808080", protocol: "ZK_PUSH" });
    expect(registrationBody({ ...form, com_key: "  " })).not.toHaveProperty("com_key");
    expect(registrationBody({ ...form, protocol: "KIOSK_APP", com_key: "808080" })).not.toHaveProperty("com_key");
    expect(comKeyChange(" 42 ")).toEqual({ com_key: "42" });
    expect(comKeyChange(null)).toEqual({ com_key: null });
    expect(comKeyChange("")).toEqual({ com_key: null });
  });

  it("a hardware clock needs its serial number", () => {
    expect(registrationProblem({ ...form, serial_number: "  " })).toMatchObject({ field: "serial_number" });
    expect(registrationProblem(form)).toBeNull();
    expect(registrationProblem({ ...form, protocol: "KIOSK_APP", serial_number: "" })).toBeNull();
  });

  it("points the device at this server's host and port", () => {
    expect(serverHint({ protocol: "https:", hostname: "punch.example.com", port: "" })).toEqual({
      address: "punch.example.com", port: "443", https: true,
    });
    expect(serverHint({ protocol: "http:", hostname: "10.0.0.2", port: "8080" })).toEqual({
      address: "10.0.0.2", port: "8080", https: false,
    });
  });

  it("adopting an unregistered device prefills a ZK registration with its serial", () => {
    expect(adoptForm({ serial_number: "SN1" }, "Europe/Madrid")).toMatchObject({
      protocol: "ZK_PUSH", serial_number: "SN1", time_zone: "Europe/Madrid",
    });
    const rows = unregisteredRows({
      data: [
        { serial_number: "A", last_seen_at: "2026-12-01T10:00:00+00:00" },
        { serial_number: "B", last_seen_at: "2026-12-02T10:00:00+00:00" },
      ],
    });
    expect(rows.map((r) => r.serial_number)).toEqual(["B", "A"]);
    expect(unregisteredRows(null)).toEqual([]);
  });
});
