// The kiosk app (docs/kiosk-app.md): pairing → Start (full screen) → the camera, with
// "Use PIN Instead" → Employee ID → PIN → the result; offline attempts wait in the outbox.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { createApi, NetworkError, Unauthorized } from "./api.js";
import { cameraProblem, captureJpeg, openCamera, ready, sample } from "./camera.js";
import { askPersistentStorage, openDb } from "./db.js";
import { Keypad } from "./keypad.jsx";
import { clockTime, describe, isoWithOffset, reasonText, saved } from "./outcome.js";
import * as outbox from "./queue.js";
import { offlinePinCheck, Roster } from "./roster.js";
import { SteadyView } from "./steady.js";
import { startSync } from "./sync.js";

const CREDENTIAL = "punchcard.kiosk.credential";
const CLOCK = "punchcard.kiosk.clock";
const REVOKED = "punchcard.kiosk.revoked";
export const REVOKED_TEXT =
  "This kiosk's credential was revoked — ask your administrator to pair it again";
const RESULT_MS = { ok: 4000, bad: 5000, wait: 5000, saved: 5000 };
const FACE_NOTICE_MS = 3000;
const POLL_MS = 1000;
const POLL_TRIES = 45;
const FLUSH_EVERY_MS = 15000;

function stored(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

function useNow() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 10000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function App() {
  const [credential, setCredential] = useState(() => localStorage.getItem(CREDENTIAL));
  const [clock, setClock] = useState(() => stored(CLOCK));
  const [notice, setNotice] = useState(() =>
    localStorage.getItem(REVOKED) ? REVOKED_TEXT : "",
  );
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
    localStorage.removeItem(CREDENTIAL);
    if (revoked) {
      localStorage.setItem(REVOKED, "1");
      setNotice(REVOKED_TEXT);
    }
    setCredential(null);
    setStarted(false);
  }, []);

  const paired = useCallback(
    async (newCredential, who) => {
      const previous = stored(CLOCK);
      if (previous?.clock_id && previous.clock_id !== who.clock_id && db) {
        // Another clock: its roster and its unsent attempts do not belong to this one.
        const roster = await Roster.load(db);
        await roster.reset(who.clock_id);
        await outbox.clear(db);
      }
      const info = { clock_id: who.clock_id, name: who.name, time_zone: who.time_zone };
      localStorage.setItem(CLOCK, JSON.stringify(info));
      localStorage.setItem(CREDENTIAL, newCredential);
      localStorage.removeItem(REVOKED);
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
  return <Kiosk db={db} credential={credential} clock={clock} setClock={setClock} onRevoked={() => unpair(true)} />;
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

// --- pairing ----------------------------------------------------------------------------------

function Pairing({ notice, onPaired }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(event) {
    event.preventDefault();
    const candidate = value.trim();
    if (!/^pcc_[A-Za-z0-9_-]+$/.test(candidate)) {
      setError("That is not a clock credential (it starts with pcc_).");
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError("");
    try {
      const who = await createApi(candidate).whoami();
      setValue("");
      await onPaired(candidate, who);
    } catch (e) {
      if (e instanceof Unauthorized) {
        setError("This credential is not valid: it is unknown, was replaced or was revoked.");
      } else if (e instanceof NetworkError) {
        setError("The server cannot be reached. Check the network and try again.");
      } else {
        setError("The credential could not be checked right now. Try again in a moment.");
      }
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="center pairing" aria-labelledby="pair-title">
      <h1 id="pair-title">Pair this kiosk</h1>
      <p class="lead">
        Enter the clock credential your administrator registered for this tablet. It is kept on
        this device only.
      </p>
      {notice && (
        <p role="alert" class="alert">
          {notice}
        </p>
      )}
      <form onSubmit={submit} class="pair-form" noValidate>
        <label for="credential">Clock credential</label>
        <input
          id="credential"
          ref={input}
          type="password"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby={error ? "credential-error" : undefined}
          aria-invalid={error ? "true" : undefined}
        />
        {error && (
          <p id="credential-error" role="alert" class="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary big" disabled={busy}>
          {busy ? "Checking…" : "Pair"}
        </button>
      </form>
    </main>
  );
}

function StartScreen({ clock, onStart }) {
  const button = useRef(null);
  useEffect(() => button.current?.focus(), []);
  return (
    <main class="center" aria-labelledby="start-title">
      <h1 id="start-title">{clock?.name || "Punchcard kiosk"}</h1>
      <p class="lead">This kiosk is paired. Tap Start to open the time clock.</p>
      <button ref={button} type="button" class="primary huge" onClick={onStart}>
        Start
      </button>
    </main>
  );
}

// --- the time clock -------------------------------------------------------------------------

function Kiosk({ db, credential, clock, setClock, onRevoked }) {
  const api = useRef(null);
  if (!api.current || api.current.credential !== credential) {
    api.current = { credential, ...createApi(credential) };
  }
  const roster = useRef(null);
  const [rosterSize, setRosterSize] = useState(null);
  const [online, setOnline] = useState(navigator.onLine);
  const [saved_, setSaved] = useState(0);
  const [screen, setScreen] = useState({ name: "camera" });
  const [announce, setAnnounce] = useState("");
  const [faceNotice, setFaceNotice] = useState("");
  const [camera, setCamera] = useState({ stream: null, problem: "" });
  const gate = useRef({ notBefore: 0, needChange: false, orAfter: 0 });
  const revoked = useRef(false);
  const flushing = useRef(false);
  const now = useNow();

  const refreshSaved = useCallback(() => outbox.size(db).then(setSaved, () => {}), [db]);

  const lostCredential = useCallback(() => {
    if (revoked.current) return;
    revoked.current = true;
    onRevoked();
  }, [onRevoked]);

  // The roster and its sync loop; whoami refreshes the clock's name and zone.
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
    api.current
      .whoami()
      .then((who) => {
        const info = { clock_id: who.clock_id, name: who.name, time_zone: who.time_zone };
        localStorage.setItem(CLOCK, JSON.stringify(info));
        setClock(info);
      })
      .catch((e) => {
        if (e instanceof Unauthorized) lostCredential();
      });
    return () => {
      cancelled = true;
      sync?.stop();
    };
  }, [db, credential]);

  // The outbox: sent when the connection returns and every 15 s while anything waits.
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

  // The camera, opened once (Start was the user's gesture).
  useEffect(() => {
    let settled = false;
    const slow = setTimeout(() => {
      if (!settled) {
        setCamera({ stream: null, problem: "Waiting for the camera — allow it, or use your PIN" });
      }
    }, 8000);
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

  const show = useCallback((result, extra = {}) => {
    setAnnounce(`${result.title}${result.line ? `. ${result.line}` : ""}`);
    setScreen({ name: "result", result, ...extra });
  }, []);

  // One attempt: sent now, or kept in the outbox when there is no network. Returns the screen.
  const attempt = useCallback(
    async (body) => {
      const keep = async () => {
        await outbox.enqueue(db, { ...body, offline: true });
        refreshSaved();
        setOnline(false);
        return saved();
      };
      if (!navigator.onLine) return keep();
      try {
        let { status, answer } = await api.current.punch(body);
        for (let i = 0; status === 202 && i < POLL_TRIES; i++) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          try {
            ({ status, answer } = await api.current.result(body.attempt_id));
          } catch (e) {
            if (!(e instanceof NetworkError)) throw e;
          }
        }
        // Unavailable, or too many at once (429): kept and sent again later, never lost.
        if (status === 503 || status === 429) return keep();
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

  const punchByPin = useCallback(
    async (employeeId, pin) => {
      setScreen({ name: "busy" });
      setAnnounce("Checking…");
      const body = {
        attempt_id: crypto.randomUUID(),
        captured_at: isoWithOffset(),
        offline: false,
        direction: null,
        method: "PIN",
        employee_id: employeeId,
        pin,
      };
      if (!navigator.onLine && roster.current) {
        const reason = offlinePinCheck(roster.current, employeeId);
        if (reason) {
          show({ tone: "bad", title: reasonText(reason), line: "", reason });
          return;
        }
      }
      let result = await attempt(body);
      if (!result) return;
      if (result.tone === "saved" && roster.current) {
        // Went offline on the way: the roster still answers for IDs not on this clock.
        const reason = offlinePinCheck(roster.current, employeeId);
        if (reason) {
          await outbox.remove(db, body.attempt_id);
          refreshSaved();
          result = { tone: "bad", title: reasonText(reason), line: "", reason };
        }
      }
      show(result, { employeeId });
    },
    [attempt, show],
  );

  const punchByFace = useCallback(
    async (frame) => {
      const body = {
        attempt_id: crypto.randomUUID(),
        captured_at: isoWithOffset(),
        offline: false,
        direction: null,
        method: "FACE",
        frame_jpeg: frame,
      };
      setFaceNotice("Checking…");
      setAnnounce("Checking…");
      const result = await attempt(body);
      setFaceNotice("");
      if (!result) return;
      const t = Date.now();
      if (result.tone === "bad") {
        // Say why briefly, then wait for the view to change (or a while) before trying again.
        setFaceNotice(result.title);
        setAnnounce(result.title);
        gate.current = { notBefore: t + FACE_NOTICE_MS, needChange: true, orAfter: t + 10000 };
        setTimeout(() => setFaceNotice(""), FACE_NOTICE_MS);
        return;
      }
      const shown = RESULT_MS[result.tone] || 4000;
      gate.current = {
        notBefore: t + shown,
        needChange: true,
        orAfter: t + shown + (result.tone === "ok" ? 4000 : 10000),
      };
      show(result);
    },
    [attempt, show],
  );

  const toCamera = useCallback(() => {
    setScreen({ name: "camera" });
    setAnnounce("");
  }, []);

  let body;
  if (screen.name === "camera") {
    body = (
      <CameraScreen
        stream={camera.stream}
        problem={camera.problem}
        notice={faceNotice}
        gate={gate}
        onFrame={punchByFace}
        onPin={() => setScreen({ name: "employee" })}
      />
    );
  } else if (screen.name === "employee") {
    body = (
      <Keypad
        key="employee"
        kind="employee"
        initial={screen.employeeId || ""}
        onCancel={toCamera}
        onDone={(employeeId) => setScreen({ name: "pin", employeeId })}
      />
    );
  } else if (screen.name === "pin") {
    body = (
      <Keypad
        key={`pin-${screen.try || 0}`}
        kind="pin"
        employeeId={screen.employeeId}
        onCancel={toCamera}
        onBack={() => setScreen({ name: "employee", employeeId: screen.employeeId })}
        onDone={(pin) => punchByPin(screen.employeeId, pin)}
      />
    );
  } else if (screen.name === "busy") {
    body = (
      <section class="center">
        <div class="spinner" aria-hidden="true" />
        <p class="busy-text">Checking…</p>
      </section>
    );
  } else {
    body = (
      <Result
        result={screen.result}
        onDone={toCamera}
        onRetry={
          screen.result.reason === "WRONG_PIN"
            ? () => setScreen({ name: "pin", employeeId: screen.employeeId, try: Date.now() })
            : null
        }
      />
    );
  }

  return (
    <div class="kiosk">
      <header class="bar">
        <span class="clock-name">{clock?.name || "Punchcard"}</span>
        <time class="now" dateTime={now.toISOString()}>
          {clockTime(now.toISOString(), clock?.time_zone)}
        </time>
        <Status online={online} saved={saved_} rosterSize={rosterSize} />
      </header>
      <main class="stage" aria-label="Time clock">
        {body}
      </main>
      <div class="sr-only" aria-live="assertive" aria-atomic="true">
        {announce}
      </div>
    </div>
  );
}

function Status({ online, saved, rosterSize }) {
  const text = online ? (saved ? `${saved} saved` : "Online") : `Offline — ${saved} saved`;
  return (
    <span class="status-group">
      {rosterSize !== null && (
        <span class="roster" data-roster-size={rosterSize}>
          {rosterSize === 1 ? "1 worker" : `${rosterSize} workers`}
        </span>
      )}
      <span class={`pill ${online ? "up" : "down"}`} role="status">
        {text}
      </span>
    </span>
  );
}

// --- the camera ---------------------------------------------------------------------------

function CameraScreen({ stream, problem, notice, gate, onFrame, onPin }) {
  const video = useRef(null);
  const canvas = useRef(null);
  const view = useRef(new SteadyView());
  const busy = useRef(false);
  const [hint, setHint] = useState("Look at the camera to clock in or out");
  const pinButton = useRef(null);

  useEffect(() => {
    if (video.current && stream) {
      video.current.srcObject = stream;
      video.current.play?.().catch(() => {});
    }
  }, [stream]);

  useEffect(() => {
    if (!stream) return undefined;
    if (!canvas.current) canvas.current = document.createElement("canvas");
    const timer = setInterval(async () => {
      const v = video.current;
      if (busy.current || !ready(v)) return;
      const y = sample(v, canvas.current);
      const t = Date.now();
      const { steady, blank, changed } = view.current.feed(y, performance.now());
      const g = gate.current;
      if (t < g.notBefore) return;
      if (g.needChange && !changed && t < g.orAfter) {
        setHint("Look at the camera to clock in or out");
        return;
      }
      if (g.needChange && (changed || t >= g.orAfter)) g.needChange = false;
      if (blank) {
        setHint("Look at the camera to clock in or out");
        return;
      }
      if (!steady) {
        setHint("Hold still…");
        return;
      }
      const frame = captureJpeg(v);
      if (!frame) return;
      view.current.remember(y);
      busy.current = true;
      try {
        await onFrame(frame);
      } finally {
        busy.current = false;
      }
    }, 120);
    return () => clearInterval(timer);
  }, [stream, onFrame]);

  return (
    <section class="camera-screen" aria-labelledby="camera-title">
      <h1 id="camera-title" class="sr-only">
        Clock in or out
      </h1>
      <div class="camera">
        {stream ? (
          <video ref={video} autoplay muted playsinline aria-label="Camera view" />
        ) : (
          <div class="no-camera">
            <p>{problem || "Starting the camera…"}</p>
          </div>
        )}
        {stream && (
          <p class={`hint ${notice ? "notice" : ""}`} aria-hidden="true">
            {notice || hint}
          </p>
        )}
      </div>
      <button ref={pinButton} type="button" class="primary big pin-button" onClick={onPin}>
        Use PIN Instead
      </button>
    </section>
  );
}

// --- the result -----------------------------------------------------------------------------

function Result({ result, onDone, onRetry }) {
  const done = useRef(null);
  useEffect(() => {
    done.current?.focus();
    const timer = setTimeout(onDone, onRetry ? 8000 : RESULT_MS[result.tone] || 4000);
    return () => clearTimeout(timer);
  }, [result]);
  const icon = { ok: "✓", bad: "✕", wait: "…", saved: "↻" }[result.tone] || "";
  return (
    <section class={`result ${result.tone}`} aria-labelledby="result-title">
      <div class="result-icon" aria-hidden="true">
        {icon}
      </div>
      <h1 id="result-title" class="result-title">
        {result.title}
      </h1>
      {result.line && (
        <p class={`result-line ${(result.direction || "").toLowerCase()}`}>{result.line}</p>
      )}
      <div class="actions">
        {onRetry && (
          <button type="button" class="primary big" onClick={onRetry}>
            Try again
          </button>
        )}
        <button ref={done} type="button" class="secondary big" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}
