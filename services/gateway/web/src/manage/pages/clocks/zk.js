// ZKTeco PUSH (ADMS) hardware clocks in the portal (pure): what a command's return code means,
// a device's status as the pages show it, where the device must be pointed, and the body of a
// registration. API: docs/device-sync.md ("Admin API"); setup: docs/hardware-clocks.md.

export const KIOSK_APP = "KIOSK_APP";
export const ZK_PUSH = "ZK_PUSH";

export const PROTOCOLS = [
  [KIOSK_APP, "Punchcard kiosk app", "A tablet running the Punchcard kiosk, paired with a one-time credential."],
  [ZK_PUSH, "ZKTeco PUSH hardware clock", "A face, fingerprint or card clock speaking the ZKTeco PUSH (ADMS) protocol."],
];

export const isZk = (clock) => clock?.protocol === ZK_PUSH;

/** The type of clock in a word, for lists. */
export const protocolText = (protocol) => (protocol === ZK_PUSH ? "ZKTeco clock" : "Kiosk app");

/** What a device's answer to a command (`Return=` in its devicecmd) means, in plain words. */
export const RETURN_CODES = {
  0: "done",
  [-1]: "the command's parameters were refused",
  [-2]: "the user's photo could not be transferred",
  [-3]: "the device could not read or write its storage",
  [-4]: "the device has no such data",
  [-5]: "the device is out of space",
  [-10]: "the user does not exist on the device",
  [-22]: "the device does not know this command",
  [-1002]: "the device's firmware does not support this",
  [-1003]: "the device timed out",
  [-1004]: "the device's configuration does not match",
};

/** "-10: the user does not exist on the device"; an unknown code says so. */
export function returnCodeText(code) {
  if (code === null || code === undefined || code === "") return "";
  const n = Number(code);
  return `${n}: ${RETURN_CODES[n] ?? "a code this portal does not know"}`;
}

/** A skew in seconds in words, as device-sync measures it (receive time − the device's time:
 * positive, the device is behind; negative, ahead): "3 min 5 s behind", "in time". */
export function skewText(seconds) {
  if (seconds === null || seconds === undefined) return "not measured yet";
  const s = Math.round(Math.abs(Number(seconds)));
  if (s === 0) return "in time";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [h && `${h} h`, m && `${m} min`, s % 60 && `${s % 60} s`].filter(Boolean);
  return `${parts.join(" ")} ${Number(seconds) > 0 ? "behind" : "ahead"}`;
}

/** The UTC offset the device was told (minutes east of UTC, or "±hh:mm") as "UTC+05:30". */
export function offsetText(offset) {
  if (offset === null || offset === undefined || offset === "") return "not told yet";
  if (typeof offset === "string") return /^[+-]\d{1,2}:\d{2}$/.test(offset) ? `UTC${offset}` : offset;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `UTC${sign}${hh}:${mm}`;
}

const count = (n) => (n === null || n === undefined ? "—" : String(n));

/**
 * A ZK clock's status as the pages show it: online or offline (the clock's status, from its
 * polls), the last poll, the firmware and address, the counts the device reported, its skew
 * (a warning when device-sync flagged it) and the time zone offset it was told. Null for a
 * kiosk app, or a ZK clock that has not been heard from yet.
 */
export function deviceStatus(clock) {
  const d = clock?.device;
  if (!isZk(clock) || !d) return null;
  return {
    online: clock.status === "online",
    lastPollAt: d.last_poll_at || null,
    firmware: d.firmware || "—",
    ip: d.ip || "—",
    counts: [
      ["Users", count(d.users)],
      ["Fingerprints", count(d.fingerprints)],
      ["Faces", count(d.faces)],
      ["Punches", count(d.punches)],
    ],
    skew: {
      text: skewText(d.skew_s),
      warn: Boolean(d.skew_flagged),
    },
    offset: offsetText(d.time_zone_offset),
    stamp: d.attlog_stamp || null,
  };
}

/** Where a hardware clock is pointed: this portal's host, and its port (HTTPS or HTTP). */
export function serverHint(loc) {
  const https = loc.protocol === "https:";
  return { address: loc.hostname, port: loc.port || (https ? "443" : "80"), https };
}

/** The register-a-clock body. A kiosk app's is as it always was (the API's default protocol is
 * KIOSK_APP); a ZK clock's says ZK_PUSH, with its Comm Key when one was typed. */
export function registrationBody(form) {
  const body = {
    serial_number: form.serial_number.trim(),
    name: form.name,
    site_id: form.site_id,
    time_zone: form.time_zone,
  };
  if (form.protocol === ZK_PUSH) {
    body.protocol = ZK_PUSH;
    const key = (form.com_key || "").trim();
    if (key) body.com_key = key;
  }
  return body;
}

/** The Comm Key change to send: the new key (trimmed), or null to remove it. */
export function comKeyChange(key) {
  const trimmed = (key ?? "").trim();
  return { com_key: trimmed || null };
}

/** The form's own check before sending: a ZK clock is found by its serial, so one is needed. */
export function registrationProblem(form) {
  if (form.protocol === ZK_PUSH && !form.serial_number.trim()) {
    return { field: "serial_number", message: "A hardware clock is found by its serial number: enter it as the device shows it." };
  }
  return null;
}

/** Unregistered devices, the most recently seen first. */
export function unregisteredRows(answer) {
  return [...(answer?.data || [])].sort((a, b) => String(b.last_seen_at).localeCompare(String(a.last_seen_at)));
}

/** The registration form prefilled from an unregistered device (the "Adopt" button). */
export function adoptForm(device, timeZone) {
  return {
    protocol: ZK_PUSH,
    serial_number: device.serial_number,
    name: "",
    site_id: "",
    time_zone: timeZone || "UTC",
  };
}
