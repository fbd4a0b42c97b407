// The outbox: punch attempts the edge has not accepted yet (the network was down), kept in
// IndexedDB with their original capture time and sent again with the same attempt_id (the
// edge answers a repeated attempt with the same outcome and never punches twice). Each entry
// is deleted the moment the edge has accepted it (200 or 202), so no PIN or photo stays on
// the device after it was sent.

import { fateOf } from "./attempts.js";
import { count, getAll, transaction } from "./db.js";

export function enqueue(db, attempt) {
  const entry = { attempt_id: attempt.attempt_id, queued_at: Date.now(), body: attempt };
  return transaction(db, "outbox", "readwrite", (s) => {
    s.outbox.put(entry);
  });
}

export async function pending(db) {
  const entries = await getAll(db, "outbox");
  return entries.sort((a, b) => a.queued_at - b.queued_at);
}

export function size(db) {
  return count(db, "outbox");
}

export function remove(db, attemptId) {
  return transaction(db, "outbox", "readwrite", (s) => {
    s.outbox.delete(attemptId);
  });
}

export function clear(db) {
  return transaction(db, "outbox", "readwrite", (s) => {
    s.outbox.clear();
  });
}

// send(body) resolves with the edge's HTTP status (and answer), or throws: a network error
// (stop; the rest waits for the connection) or Unauthorized (stop; rethrown). By the status's
// fate (attempts.js fateOf): accepted (200/202) → deleted; refused (the edge's own 400, 409,
// 413, 422: it will never accept it) → deleted too, counted as dropped; anything else (429,
// 5xx, a proxy's 404 or 408 during a deploy) → kept, stop for now.
export async function flush(db, send) {
  const result = { sent: 0, dropped: 0, left: 0, answers: [] };
  const entries = await pending(db);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    let status;
    let answer;
    try {
      ({ status, answer } = await send(entry.body));
    } catch (error) {
      if (error?.name === "Unauthorized") throw error;
      result.left = entries.length - i;
      result.error = error;
      return result;
    }
    const fate = fateOf(status);
    if (fate === "accepted") {
      await remove(db, entry.attempt_id);
      result.sent += 1;
      result.answers.push(answer);
    } else if (fate === "refused") {
      await remove(db, entry.attempt_id);
      result.dropped += 1;
    } else {
      result.left = entries.length - i;
      return result;
    }
  }
  return result;
}
