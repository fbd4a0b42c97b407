// The outbox: punch attempts the edge has not accepted yet (the network was down), kept in
// IndexedDB with their original capture time and sent again with the same attempt_id (the
// edge answers a repeated attempt with the same outcome and never punches twice). Each entry
// is deleted the moment the edge has accepted it (200 or 202), so no PIN or photo stays on
// the device after it was sent.

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
// (stop; the rest waits for the connection) or Unauthorized (stop; rethrown). 200/202:
// accepted → deleted. 429 (too many at once, Retry-After), 503 and other 5xx: kept, stop for
// now. Any other 4xx (409, 413, 422):
// the edge will never accept it → deleted too (and counted as dropped).
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
    if (status === 200 || status === 202) {
      await remove(db, entry.attempt_id);
      result.sent += 1;
      result.answers.push(answer);
    } else if (status >= 400 && status < 500 && status !== 429) {
      await remove(db, entry.attempt_id);
      result.dropped += 1;
    } else {
      result.left = entries.length - i;
      return result;
    }
  }
  return result;
}
