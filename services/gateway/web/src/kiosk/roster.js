// The clock's roster, applied from device-sync's commands (docs/device-sync.md): in sequence
// order, skipping sequences already applied, each acknowledged (0 applied; -1 parameter error;
// -22 unknown command). The roster, the applied sequence and the acks not yet delivered are
// kept in IndexedDB, written together in one transaction per batch; a copy lives in memory
// for look-ups and the digest.

import { employeeIdKey } from "../shared/credentials.js";
import { getAll, get, transaction } from "./db.js";
import { rosterDigest } from "./digest.js";

export const RESULT_OK = 0;
export const RESULT_PARAMETER_ERROR = -1;
export const RESULT_UNKNOWN_COMMAND = -22;
export const MAX_ACKS_PER_REQUEST = 500;

export class Roster {
  constructor(db, profiles, state) {
    this.db = db;
    this.profiles = new Map(profiles.map((p) => [p.worker_id, p]));
    this.appliedSequence = state.applied_sequence || 0;
    this.pendingAcks = state.pending_acks || [];
    this.clockId = state.clock_id || null;
    this.syncedAt = state.synced_at || null;
    this._digest = null;
  }

  static async load(db) {
    const [profiles, state] = await Promise.all([getAll(db, "roster"), get(db, "state", "sync")]);
    return new Roster(db, profiles, state || {});
  }

  get size() {
    return this.profiles.size;
  }

  // Whether the roster was ever received from device-sync (else it says nothing about who
  // may punch here).
  get known() {
    return this.syncedAt !== null;
  }

  /** The profile of this Employee ID in any case (an ID is one worker in any case: the
   * keypad types JSMITH for jsmith), or null. */
  byEmployeeId(employeeId) {
    const key = employeeIdKey(employeeId);
    for (const profile of this.profiles.values()) {
      if (typeof profile.employee_id === "string" && employeeIdKey(profile.employee_id) === key) {
        return profile;
      }
    }
    return null;
  }

  /** The profile holding this badge card's number (profiles carry their `cards`), or null. */
  byCard(number) {
    for (const profile of this.profiles.values()) {
      if (Array.isArray(profile.cards) && profile.cards.includes(number)) return profile;
    }
    return null;
  }

  digest() {
    if (this._digest === null) this._digest = rosterDigest(this.profiles.values());
    return this._digest;
  }

  _state() {
    return {
      clock_id: this.clockId,
      applied_sequence: this.appliedSequence,
      pending_acks: this.pendingAcks,
      synced_at: this.syncedAt,
    };
  }

  // The body of the next POST /kiosk/v1/sync (the acks it carries stay pending until the
  // answer comes: acknowledging twice is harmless).
  async syncRequest(waitS, softwareVersion) {
    return {
      applied_sequence: this.appliedSequence,
      roster_digest: await this.digest(),
      software_version: softwareVersion,
      acks: this.pendingAcks.slice(0, MAX_ACKS_PER_REQUEST),
      wait_s: waitS,
    };
  }

  // A sync was answered: the acks it carried are delivered, its commands applied. Everything
  // is written in one transaction; the acks of the applied commands ride on the next sync.
  async applyAnswer(answer, sentAcks = []) {
    const sent = new Set(sentAcks.map((a) => a.command_id));
    const acks = this.pendingAcks.filter((a) => !sent.has(a.command_id));
    const commands = [...(answer?.commands || [])].sort((a, b) => a.sequence - b.sequence);
    const profiles = new Map(this.profiles);
    const writes = [];
    let applied = this.appliedSequence;
    for (const command of commands) {
      if (!Number.isInteger(command?.sequence) || command.sequence <= applied) continue;
      const code = applyOne(command, profiles, writes);
      applied = command.sequence;
      if (typeof command.command_id === "string") {
        acks.push({
          command_id: command.command_id,
          sequence: command.sequence,
          result_code: code,
          detail: code === RESULT_OK ? "" : "not applied",
        });
      }
    }
    const next = {
      clock_id: answer?.clock_id || this.clockId,
      applied_sequence: applied,
      pending_acks: acks,
      synced_at: new Date().toISOString(),
    };
    await transaction(this.db, ["roster", "state"], "readwrite", (s) => {
      for (const [op, value] of writes) {
        if (op === "clear") s.roster.clear();
        else if (op === "put") s.roster.put(value);
        else s.roster.delete(value);
      }
      s.state.put(next, "sync");
    });
    const changed = writes.length > 0;
    this.profiles = profiles;
    this.appliedSequence = applied;
    this.pendingAcks = acks;
    this.clockId = next.clock_id;
    this.syncedAt = next.synced_at;
    if (changed) this._digest = null;
    return { applied: commands.length, changed };
  }

  // Another clock paired: its roster, sequence and acks mean nothing here.
  async reset(clockId = null) {
    await transaction(this.db, ["roster", "state"], "readwrite", (s) => {
      s.roster.clear();
      s.state.delete("sync");
    });
    this.profiles = new Map();
    this.appliedSequence = 0;
    this.pendingAcks = [];
    this.clockId = clockId;
    this.syncedAt = null;
    this._digest = null;
  }
}

function applyOne(command, profiles, writes) {
  const worker = command.worker;
  const workerId = worker && typeof worker.worker_id === "string" ? worker.worker_id : null;
  switch (command.kind) {
    case "UPSERT_WORKER":
      if (!workerId) return RESULT_PARAMETER_ERROR;
      profiles.set(workerId, worker);
      writes.push(["put", worker]);
      return RESULT_OK;
    case "REMOVE_WORKER":
      if (!workerId) return RESULT_PARAMETER_ERROR;
      profiles.delete(workerId); // one that is not there: success
      writes.push(["delete", workerId]);
      return RESULT_OK;
    case "FULL_RESYNC":
      profiles.clear();
      writes.push(["clear"]);
      return RESULT_OK;
    default:
      return RESULT_UNKNOWN_COMMAND;
  }
}

// What the roster says about a PIN attempt made offline: null (queue it), or the reason the
// edge would give anyway (UNKNOWN_USER also for an inactive worker, as the edge answers).
export function offlinePinCheck(roster, employeeId) {
  if (!roster.known) return null;
  const profile = roster.byEmployeeId(employeeId);
  if (!profile || profile.status !== "Active") return "UNKNOWN_USER";
  // identity's order: no PIN set before not allowed (device-sync lists PIN among
  // allowed_methods only for a PIN that is set and allowed).
  if (profile.pin_set === false) return "PIN_NOT_SET";
  if (Array.isArray(profile.allowed_methods) && !profile.allowed_methods.includes("PIN")) {
    return "PIN_NOT_ALLOWED";
  }
  return null;
}

// What the roster says about a card read offline: null (queue it), or UNKNOWN_USER when no
// Active worker of this clock holds the card (as the edge answers; nothing is kept).
export function offlineCardCheck(roster, number) {
  if (!roster.known) return null;
  const profile = roster.byCard(number);
  return profile && profile.status === "Active" ? null : "UNKNOWN_USER";
}
