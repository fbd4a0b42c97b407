// The time clock's wiring, one hook per concern: the clock's API, the roster and its sync
// loop, the outbox (unsent attempts) and its flushing, the camera, one attempt, the time.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { createApi, NetworkError, Unauthorized } from "./api.js";
import { fateOf, sendAndPoll } from "./attempts.js";
import { cameraProblem, openCamera } from "./camera.js";
import { cardWedge } from "./card-wedge.js";
import { startClockRefresh } from "./clock-refresh.js";
import { clockInfo, saveClock } from "./device.js";
import { describe, saved } from "./outcome.js";
import * as outbox from "./queue.js";
import { Roster } from "./roster.js";
import { startSync } from "./sync.js";

const FLUSH_EVERY_MS = 15000;
const CAMERA_SLOW_MS = 8000;

/** The time now, every 10 s (the header's clock). */
export function useNow() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 10000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A ref to the kiosk edge's client for `credential` (a new one when it changes). */
export function useClockApi(credential) {
  const api = useRef(null);
  if (!api.current || api.current.credential !== credential) {
    api.current = { credential, ...createApi(credential) };
  }
  return api;
}

/** `onRevoked`, called once however many requests meet the refused credential. */
export function useLostCredential(onRevoked) {
  const revoked = useRef(false);
  return useCallback(() => {
    if (revoked.current) return;
    revoked.current = true;
    onRevoked();
  }, [onRevoked]);
}

/** The roster and its sync loop; whoami refreshes the clock's name, zone and evidence policy
 * at start and every few minutes (clock-refresh.js). */
export function useRoster({ db, api, credential, setClock, setOnline, lostCredential }) {
  const roster = useRef(null);
  const [rosterSize, setRosterSize] = useState(null);
  useEffect(() => {
    let sync = null;
    let cancelled = false;
    Roster.load(db).then((r) => {
      if (cancelled) return;
      roster.current = r;
      setRosterSize(r.size);
      sync = startSync({
        api: api.current,
        roster: r,
        onChange: () => setRosterSize(r.size),
        onStatus: ({ online: up }) => {
          setOnline(up && navigator.onLine);
          setRosterSize(r.size);
        },
        onUnauthorized: lostCredential,
      });
    });
    const clockFacts = startClockRefresh({
      api: api.current,
      onClock: (who) => {
        const info = clockInfo(who);
        saveClock(info);
        setClock(info);
      },
      onUnauthorized: lostCredential,
    });
    return () => {
      cancelled = true;
      sync?.stop();
      clockFacts.stop();
    };
  }, [db, credential]);
  return { roster, rosterSize };
}

/** The outbox: sent when the connection returns and every 15 s while anything waits. */
export function useOutbox({ db, api, setOnline, lostCredential }) {
  const [savedCount, setSaved] = useState(0);
  const flushing = useRef(false);
  const refreshSaved = useCallback(() => outbox.size(db).then(setSaved, () => {}), [db]);

  const flush = useCallback(async () => {
    if (flushing.current || !navigator.onLine) return;
    flushing.current = true;
    try {
      const result = await outbox.flush(db, (body) => api.current.punch(body));
      if (result.sent) setOnline(true);
      if (result.error) setOnline(false);
    } catch (e) {
      if (e instanceof Unauthorized) lostCredential();
    } finally {
      flushing.current = false;
      refreshSaved();
    }
  }, [db]);

  useEffect(() => {
    refreshSaved().then(flush);
    const up = () => {
      setOnline(true);
      flush();
    };
    const down = () => setOnline(false);
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    const timer = setInterval(flush, FLUSH_EVERY_MS);
    return () => {
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
      clearInterval(timer);
    };
  }, [flush]);

  return { saved: savedCount, refreshSaved };
}

/** The camera, opened once (Start was the user's gesture): {stream, problem}. */
export function useCamera() {
  const [camera, setCamera] = useState({ stream: null, problem: "" });
  useEffect(() => {
    let settled = false;
    const slow = setTimeout(() => {
      if (!settled) {
        setCamera({ stream: null, problem: "Waiting for the camera — allow it, or use your PIN" });
      }
    }, CAMERA_SLOW_MS);
    openCamera().then(
      (stream) => {
        settled = true;
        setCamera({ stream, problem: "" });
      },
      (error) => {
        settled = true;
        setCamera({ stream: null, problem: cameraProblem(error) });
      },
    );
    return () => clearTimeout(slow);
  }, []);
  return camera;
}

/**
 * One attempt: sent now, or kept in the outbox when there is no network (or the edge is
 * unavailable). Resolves to the result to show, or null when the credential was refused.
 */
export function useAttempt({ db, api, clock, setOnline, refreshSaved, lostCredential }) {
  return useCallback(
    async (body) => {
      const keep = async () => {
        await outbox.enqueue(db, { ...body, offline: true });
        refreshSaved();
        setOnline(false);
        return saved();
      };
      if (!navigator.onLine) return keep();
      try {
        const { status, answer } = await sendAndPoll(api.current, body);
        if (fateOf(status) === "kept") return keep();
        setOnline(true);
        return describe(status, answer, clock?.time_zone);
      } catch (e) {
        if (e instanceof Unauthorized) {
          lostCredential();
          return null;
        }
        if (e instanceof NetworkError) return keep();
        throw e;
      }
    },
    [db, clock],
  );
}

/**
 * A badge-card reader that types like a keyboard, heard anywhere on the page while `active`
 * (the idle camera screen): `onCard(number)` for each reader's burst (card-wedge.js). The
 * Enter that ends a burst is swallowed, so it does not also press a focused button.
 *
 * The listener is attached once, when the kiosk starts, and reads `active` as of the last
 * render: a card read the moment a screen appears (its render committed, the effects of that
 * render not yet run) is heard, not lost.
 */
export function useCardReader(active, onCard) {
  const latest = useRef(onCard);
  latest.current = onCard;
  const listening = useRef(active);
  listening.current = active;
  useEffect(() => {
    const detector = cardWedge();
    const listen = (event) => {
      if (!listening.current) {
        detector.reset();
        return;
      }
      const card = detector.feed(event);
      if (card === null) return;
      event.preventDefault();
      event.stopPropagation();
      latest.current(card);
    };
    window.addEventListener("keydown", listen, true);
    return () => window.removeEventListener("keydown", listen, true);
  }, []);
}
