// The time clock (after Start): the header (clock, time, roster, connection), the screens of
// screens.js, and the ways to punch — a steady face in the camera, Employee ID + PIN, or a
// badge card read on the camera screen by a reader that types like a keyboard.

import { useCallback, useEffect, useReducer, useRef, useState } from "preact/hooks";
import { clockTime, countOf } from "../shared/format.js";
import { faceFields, newAttempt } from "./attempts.js";
import { NetworkError, Unauthorized } from "./api.js";
import { CameraScreen } from "./camera-screen.jsx";
import { captureStill } from "./camera.js";
import { ENROL_FACE, elevationOf, elevationValid, may, refusalText } from "./elevation.js";
import { Enrol } from "./enrol.jsx";
import { FACE_NOTICE_MS, gateAfter, openGate } from "./face-gate.js";
import {
  useAttempt,
  useCamera,
  useCardReader,
  useClockApi,
  useLostCredential,
  useNow,
  useOutbox,
  useRoster,
} from "./hooks.js";
import { IDLE_MS, Keypad } from "./keypad.jsx";
import { looksAgain, reasonText, spoken } from "./outcome.js";
import * as outbox from "./queue.js";
import { Result } from "./result.jsx";
import { offlineCardCheck, offlinePinCheck } from "./roster.js";
import { canRetry, initialScreen, nextScreen, takesFaceAnswer } from "./screens.js";
import { Settings } from "./settings.jsx";
import { SteadyView } from "./steady.js";
import { SOFTWARE_VERSION } from "./sync.js";

const CHECKING = "Checking…";

/** What the roster already knows about a PIN attempt (or, with `check`, a card read) made
 * offline, as a result; else null. */
function refusedOffline(roster, credential, check = offlinePinCheck) {
  const reason = roster ? check(roster, credential) : null;
  return reason ? { tone: "bad", title: reasonText(reason), line: "", reason } : null;
}

export function Kiosk({ db, credential, clock, setClock, onRevoked, onForget }) {
  const api = useClockApi(credential);
  const [online, setOnline] = useState(navigator.onLine);
  const [screen, dispatch] = useReducer(nextScreen, undefined, initialScreen);
  const screenNow = useRef(screen);
  screenNow.current = screen;
  const [announce, setAnnounce] = useState("");
  const [faceNotice, setFaceNotice] = useState("");
  const gate = useRef(openGate());
  // The camera's view, with the view of the last attempt: kept here, not in the camera screen,
  // which a result replaces; else the gate's "the view must change" met a fresh, empty view.
  const view = useRef(null);
  if (!view.current) view.current = new SteadyView(); // made once, not at every render
  const now = useNow();
  const lostCredential = useLostCredential(onRevoked);
  const { roster, rosterSize } = useRoster({ db, api, credential, setClock, setOnline, lostCredential });
  const { saved, refreshSaved } = useOutbox({ db, api, setOnline, lostCredential });
  const camera = useCamera();
  const attempt = useAttempt({ db, api, clock, setOnline, refreshSaved, lostCredential });

  const show = useCallback((result, extra = {}) => {
    setAnnounce(spoken(result));
    dispatch({ type: "result", result, extra });
  }, []);

  /** A PIN or card attempt: sent (or saved offline); the roster answers offline for
   * credentials not on this clock, and nothing of those is kept. */
  const punchWith = useCallback(
    async (fields, credential, check, extra) => {
      dispatch({ type: "checking" });
      setAnnounce(CHECKING);
      // The tenant keeps a photo of every punch: this one's, taken now (issue 17).
      const evidence = clock?.evidence_photos ? await captureStill(camera.stream) : null;
      const body = newAttempt(evidence ? { ...fields, evidence_jpeg: evidence } : fields);
      if (!navigator.onLine) {
        const refused = refusedOffline(roster.current, credential, check);
        if (refused) {
          show(refused);
          return;
        }
      }
      let result = await attempt(body);
      if (!result) return;
      if (result.tone === "saved") {
        // Went offline on the way: the roster still answers for credentials not on this clock.
        const refused = refusedOffline(roster.current, credential, check);
        if (refused) {
          await outbox.remove(db, body.attempt_id);
          refreshSaved();
          result = refused;
        }
      }
      show(result, extra);
    },
    [attempt, show, clock, camera.stream],
  );

  const punchByPin = useCallback(
    (employeeId, pin) =>
      punchWith({ method: "PIN", employee_id: employeeId, pin }, employeeId, offlinePinCheck, { employeeId }),
    [punchWith],
  );

  const punchByCard = useCallback(
    (card) => punchWith({ method: "CARD", card }, card, offlineCardCheck, {}),
    [punchWith],
  );
  // Only on the camera screen: on a keypad, an Employee ID typed quickly on a keyboard (or by
  // a barcode scanner reading a badge) and a PIN must never be taken for a card.
  useCardReader(screen.name === "camera", punchByCard);

  const punchByFace = useCallback(
    async (frame, burst = [], scores = null, aligned = false) => {
      // After EMPLOYEE_ID_REQUIRED: this face is checked 1:1 against the Employee ID typed.
      const faceFor = screenNow.current.faceFor;
      const body = newAttempt(faceFields({ frame, burst, scores, aligned, employeeId: faceFor }));
      setFaceNotice(CHECKING);
      setAnnounce(CHECKING);
      const result = await attempt(body);
      setFaceNotice("");
      if (!result) return;
      if (result.reason === "EMPLOYEE_ID_REQUIRED" && !faceFor) {
        // The clock verifies faces 1:1: ask who it is, then look again (at once: no gate).
        gate.current = openGate();
        setAnnounce(result.title);
        dispatch({ type: "faceNeedsId" });
        return;
      }
      gate.current = gateAfter(result, Date.now());
      // Someone tapped "Use PIN Instead" or "Manager" meanwhile: their screen stays.
      if (!takesFaceAnswer(screenNow.current)) return;
      if (result.tone === "bad" && (!faceFor || looksAgain(result))) {
        // Say why briefly, then wait for the view to change (or a while) before trying again.
        // An Employee ID typed is kept while the face could not be judged (no face, a doubted
        // capture): the worker looks again, within the 20 s the ID is kept for (IDLE_MS).
        setFaceNotice(result.title);
        setAnnounce(result.title);
        setTimeout(() => setFaceNotice(""), FACE_NOTICE_MS);
        return;
      }
      // A verdict for an Employee ID typed shows as a result too, then the camera as usual.
      setAnnounce(spoken(result));
      dispatch({ type: "faceResult", result });
    },
    [attempt, show],
  );

  const toCamera = useCallback(() => {
    dispatch({ type: "camera" });
    setAnnounce("");
  }, []);

  // Waiting for the face of the Employee ID typed: nobody looked in time, back to the camera.
  useEffect(() => {
    if (!screen.faceFor) return undefined;
    const timer = setTimeout(toCamera, IDLE_MS);
    return () => clearTimeout(timer);
  }, [screen.faceFor]);

  /** A Manager / Administrator signs in (nothing is punched): their screen, or why not. */
  const signIn = useCallback(
    async (employeeId, pin) => {
      dispatch({ type: "checking" });
      setAnnounce(CHECKING);
      let status = 0;
      let answer = null;
      try {
        ({ status, answer } = await api.current.signIn(employeeId, pin));
      } catch (e) {
        if (e instanceof Unauthorized) {
          lostCredential();
          return;
        }
        if (!(e instanceof NetworkError)) throw e;
        setOnline(false);
      }
      if (status === 200) {
        setAnnounce(`Signed in: ${answer.name}`);
        dispatch({ type: "signedIn", elevation: elevationOf(answer) });
        return;
      }
      const reason = answer?.code === "WRONG_PIN" ? "WRONG_PIN" : answer?.code;
      show({ tone: "bad", title: refusalText(status, answer), line: "", reason }, { employeeId });
    },
    [show],
  );

  /** What a signed-in Administrator / Manager does, with their elevation ({status, answer}). */
  const elevated = useCallback(
    async (call) => {
      const elevation = screen.elevation;
      if (!elevationValid(elevation, Date.now())) {
        return { status: 403, answer: { code: "KIOSK_ELEVATION_INVALID" } };
      }
      try {
        return await call(elevation.token);
      } catch (e) {
        if (e instanceof Unauthorized) {
          lostCredential();
          return { status: 401, answer: null };
        }
        if (e instanceof NetworkError) return { status: 0, answer: null };
        throw e;
      }
    },
    [screen],
  );

  const resyncRoster = useCallback(async () => {
    const { status, answer } = await elevated((token) => api.current.resyncRoster(token));
    if (status === 202) return `Resync asked: ${answer.commands_queued} commands on their way`;
    return refusalText(status, answer);
  }, [elevated]);

  const enrolFace = useCallback(
    (body) => elevated((token) => api.current.enrolFace(token, body)),
    [elevated],
  );

  return (
    <div class="kiosk">
      <header class="bar">
        <span class="clock-name">{clock?.name || "Punchcard"}</span>
        <time class="now" dateTime={now.toISOString()}>
          {clockTime(now.toISOString(), clock?.time_zone)}
        </time>
        <Status online={online} saved={saved} rosterSize={rosterSize} />
      </header>
      <main class="stage" aria-label="Time clock">
        <Screen
          screen={screen}
          dispatch={dispatch}
          camera={camera}
          faceNotice={faceNotice}
          gate={gate}
          view={view}
          punchByFace={punchByFace}
          punchByPin={punchByPin}
          toCamera={toCamera}
          signIn={signIn}
          settingsFacts={{
            clock,
            rosterSize,
            syncedAt: roster.current?.syncedAt,
            online,
            saved,
            version: SOFTWARE_VERSION,
          }}
          resyncRoster={resyncRoster}
          enrolFace={enrolFace}
          roster={roster.current}
          onForget={onForget}
        />
      </main>
      <div class="sr-only" aria-live="assertive" aria-atomic="true">
        {announce}
      </div>
    </div>
  );
}

function Screen({
  screen,
  dispatch,
  camera,
  faceNotice,
  gate,
  view,
  punchByFace,
  punchByPin,
  toCamera,
  signIn,
  settingsFacts,
  resyncRoster,
  enrolFace,
  roster,
  onForget,
}) {
  switch (screen.name) {
    case "signin-id":
      return (
        <Keypad
          key="signin-id"
          kind="employee"
          title="Manager sign-in: your Employee ID"
          initial={screen.employeeId || ""}
          onCancel={toCamera}
          onDone={(employeeId) => dispatch({ type: "employeeEntered", employeeId })}
        />
      );
    case "signin-pin":
      return (
        <Keypad
          key={`signin-pin-${screen.try || 0}`}
          kind="pin"
          title="Manager sign-in: your PIN"
          employeeId={screen.employeeId}
          onCancel={toCamera}
          onBack={() => dispatch({ type: "back" })}
          onDone={(pin) => signIn(screen.employeeId, pin)}
        />
      );
    case "settings":
      return (
        <Settings
          elevation={screen.elevation}
          facts={settingsFacts}
          onResync={resyncRoster}
          onForget={onForget}
          onEnrol={may(screen.elevation, ENROL_FACE) ? () => dispatch({ type: "enrol" }) : null}
          onDone={toCamera}
        />
      );
    case "enrol":
      return (
        <Enrol
          elevation={screen.elevation}
          stream={camera.stream}
          roster={roster}
          onEnrol={enrolFace}
          onDone={toCamera}
        />
      );
    case "face-id":
      return (
        <Keypad
          key="face-id"
          kind="employee"
          title="Enter your Employee ID, then look at the camera"
          onCancel={toCamera}
          onDone={(employeeId) => dispatch({ type: "employeeEntered", employeeId })}
        />
      );
    case "camera":
      return (
        <CameraScreen
          key={screen.faceFor ? `face-for-${screen.faceFor}` : "camera"}
          stream={camera.stream}
          problem={camera.problem}
          notice={faceNotice || (screen.faceFor ? `Employee ID ${screen.faceFor}: look at the camera` : "")}
          gate={gate}
          view={view}
          onFrame={punchByFace}
          onPin={() => dispatch({ type: "usePin" })}
          onSignIn={() => dispatch({ type: "signIn" })}
        />
      );
    case "employee":
      return (
        <Keypad
          key="employee"
          kind="employee"
          initial={screen.employeeId || ""}
          onCancel={toCamera}
          onDone={(employeeId) => dispatch({ type: "employeeEntered", employeeId })}
        />
      );
    case "pin":
      return (
        <Keypad
          key={`pin-${screen.try || 0}`}
          kind="pin"
          employeeId={screen.employeeId}
          onCancel={toCamera}
          onBack={() => dispatch({ type: "back" })}
          onDone={(pin) => punchByPin(screen.employeeId, pin)}
        />
      );
    case "busy":
      return (
        <section class="center">
          <div class="spinner" aria-hidden="true" />
          <p class="busy-text">{CHECKING}</p>
        </section>
      );
    default:
      return (
        <Result
          result={screen.result}
          onDone={toCamera}
          onRetry={canRetry(screen) ? () => dispatch({ type: "retry", at: Date.now() }) : null}
        />
      );
  }
}

/** "Online", "2 saved" or "Offline — 2 saved". */
export function statusText(online, saved) {
  return online ? (saved ? `${saved} saved` : "Online") : `Offline — ${saved} saved`;
}

function Status({ online, saved, rosterSize }) {
  return (
    <span class="status-group">
      {rosterSize !== null && (
        <span class="roster" data-roster-size={rosterSize}>
          {countOf(rosterSize, "worker")}
        </span>
      )}
      <span class={`pill ${online ? "up" : "down"}`} role="status">
        {statusText(online, saved)}
      </span>
    </span>
  );
}
