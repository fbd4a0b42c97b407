// The kiosk app (docs/kiosk-app.md): pairing → Start (full screen) → the camera, with
// "Use PIN Instead" → Employee ID → PIN → the result; offline attempts wait in the outbox.
// This file decides which of those the tablet shows; the time clock itself is kiosk.jsx.

import { useCallback, useEffect, useState } from "preact/hooks";
import { askPersistentStorage, openDb } from "./db.js";
import {
  clockInfo,
  forgetCredential,
  forgetPairing,
  pairingNotice,
  REVOKED_TEXT,
  savePairing,
  storedClock,
  storedCredential,
} from "./device.js";
import { Kiosk } from "./kiosk.jsx";
import { Pairing, StartScreen } from "./pairing.jsx";
import * as outbox from "./queue.js";
import { Roster } from "./roster.js";

export function App() {
  const [credential, setCredential] = useState(storedCredential);
  const [clock, setClock] = useState(storedClock);
  const [notice, setNotice] = useState(pairingNotice);
  const [started, setStarted] = useState(false);
  const [db, setDb] = useState(null);
  const [dbError, setDbError] = useState("");

  useEffect(() => {
    openDb().then(setDb, () => setDbError("This device cannot keep the kiosk's data."));
    // Unsent attempts must survive storage pressure: ask for persistent storage.
    askPersistentStorage().then((answer) => {
      if (answer !== "persisted" && answer !== "granted") {
        console.warn(`kiosk storage is not persistent (${answer}); unsent punches may be evicted`);
      }
    });
  }, []);

  const unpair = useCallback((revoked) => {
    forgetCredential(revoked);
    if (revoked) setNotice(REVOKED_TEXT);
    setCredential(null);
    setStarted(false);
  }, []);

  // The Administrator's "Forget this clock on this tablet": the time clock stops (its sync
  // loop with it), then its roster and unsent attempts are deleted with the pairing.
  const forget = useCallback(async () => {
    forgetPairing();
    setCredential(null);
    setClock(null);
    setStarted(false);
    setNotice("");
    const roster = await Roster.load(db);
    await roster.reset();
    await outbox.clear(db);
  }, [db]);

  const paired = useCallback(
    async (newCredential, who) => {
      const previous = storedClock();
      if (previous?.clock_id && previous.clock_id !== who.clock_id && db) {
        // Another clock: its roster and its unsent attempts do not belong to this one.
        const roster = await Roster.load(db);
        await roster.reset(who.clock_id);
        await outbox.clear(db);
      }
      const info = clockInfo(who);
      savePairing(newCredential, info);
      setClock(info);
      setNotice("");
      setCredential(newCredential);
    },
    [db],
  );

  if (dbError) return <Fatal text={dbError} />;
  if (!db) return <Loading />;
  if (!credential) return <Pairing notice={notice} onPaired={paired} />;
  if (!started) {
    return (
      <StartScreen
        clock={clock}
        onStart={() => {
          document.documentElement.requestFullscreen?.().catch(() => {});
          setStarted(true);
        }}
      />
    );
  }
  return <Kiosk db={db} credential={credential} clock={clock} setClock={setClock} onRevoked={() => unpair(true)} onForget={forget} />;
}

function Loading() {
  return (
    <main class="center">
      <p role="status">Starting…</p>
    </main>
  );
}

function Fatal({ text }) {
  return (
    <main class="center">
      <h1>Punchcard kiosk</h1>
      <p role="alert" class="alert">
        {text}
      </p>
    </main>
  );
}
