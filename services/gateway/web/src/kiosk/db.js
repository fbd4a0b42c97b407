// The kiosk's IndexedDB ("punchcard-kiosk"): three stores.
// - roster: the clock's workers, keyed by worker_id, each the profile exactly as received;
// - state: "sync" → {clock_id, applied_sequence, pending_acks, synced_at};
// - outbox: punch attempts not yet accepted by the edge (keyed by attempt_id), deleted as soon
//   as the edge accepts them.

export const DB_NAME = "punchcard-kiosk";

// Asks the browser to keep this origin's storage (the outbox of attempts not yet sent, the
// roster) under storage pressure instead of evicting it as "best effort" data
// (navigator.storage.persist()). Resolves with what happened: "persisted" (it already was),
// "granted", "denied" or "unsupported"; never rejects — the kiosk works either way, and the
// answer is only shown in the console for whoever sets the tablet up.
export async function askPersistentStorage(storage = globalThis.navigator?.storage) {
  if (!storage || typeof storage.persist !== "function") return "unsupported";
  try {
    if (typeof storage.persisted === "function" && (await storage.persisted())) {
      return "persisted";
    }
    return (await storage.persist()) ? "granted" : "denied";
  } catch {
    return "denied";
  }
}
const VERSION = 1;

export function openDb(factory = globalThis.indexedDB, name = DB_NAME) {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("roster")) {
        db.createObjectStore("roster", { keyPath: "worker_id" });
      }
      if (!db.objectStoreNames.contains("state")) db.createObjectStore("state");
      if (!db.objectStoreNames.contains("outbox")) {
        db.createObjectStore("outbox", { keyPath: "attempt_id" });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("the kiosk database is blocked by another tab"));
  });
}

// Runs fn(stores) inside one transaction; resolves with fn's value once the transaction has
// committed (rejects if it aborts). fn queues its requests synchronously; their results are
// read with result(request) after the commit.
export function transaction(db, names, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries([names].flat().map((n) => [n, tx.objectStore(n)]));
    let value;
    try {
      value = fn(stores, tx);
    } catch (error) {
      tx.abort();
      reject(error);
      return;
    }
    tx.oncomplete = () => resolve(typeof value === "function" ? value() : value);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export function getAll(db, name) {
  return transaction(db, name, "readonly", (s) => {
    const request = s[name].getAll();
    return () => request.result;
  });
}

export function get(db, name, key) {
  return transaction(db, name, "readonly", (s) => {
    const request = s[name].get(key);
    return () => request.result;
  });
}

export function count(db, name) {
  return transaction(db, name, "readonly", (s) => {
    const request = s[name].count();
    return () => request.result;
  });
}
