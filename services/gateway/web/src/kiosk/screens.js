// The time clock's screens as a state machine (pure, for useReducer): the camera, then by
// "Use PIN Instead" the Employee ID, the PIN, "Checking…" and the result, which goes back to
// the camera (Done, its timer) or, after a wrong PIN, to the PIN again (Try again).
//
//   camera --usePin--> employee --employeeEntered--> pin --checking--> busy --result--> result
//   pin --back--> employee (what was typed kept)      result --retry (WRONG_PIN)--> pin
//   any --camera--> camera (Cancel, Done, idle)       camera --result--> result (a face punch)
//
// A Manager / Administrator (elevation.js) signs in from the camera screen:
//   camera --signIn--> signin-id --employeeEntered--> signin-pin --checking--> busy
//   busy --signedIn--> settings (Administrator) | enrol (Manager)   settings --enrol--> enrol
//   busy --result (refused)--> result (Try again after a wrong PIN: back to signin-pin)
//
// A clock that verifies faces 1:1 (its gallery too large for a safe 1:N search) answers a face
// with EMPLOYEE_ID_REQUIRED; then the Employee ID, and the camera again for that worker's face:
//   camera --faceNeedsId--> face-id --employeeEntered--> camera {faceFor}
//
// A face is sent from the camera screen and answered a moment later; by then someone may have
// tapped "Use PIN Instead" or "Manager": a face answer (faceResult, faceNeedsId) is shown only
// while the camera screen is still up, never over a keypad, a sign-in or the settings.

import { screenAfterSignIn } from "./elevation.js";

export const initialScreen = () => ({ name: "camera" });

/** Whether the result on screen offers "Try again" (a wrong PIN). */
export function canRetry(screen) {
  return screen.name === "result" && screen.result.reason === "WRONG_PIN";
}

const SIGN_IN = { employee: "signin-id", pin: "signin-pin" };
const PUNCH = { employee: "employee", pin: "pin" };
const flow = (screen) => (screen.signIn ? SIGN_IN : PUNCH);

/** Whether a face answer arriving now may take the screen (only the camera screen's own). */
export function takesFaceAnswer(screen) {
  return screen.name === "camera";
}

export function nextScreen(screen, event) {
  switch (event.type) {
    case "usePin":
      return { name: "employee" };
    case "signIn":
      return { name: "signin-id", signIn: true };
    case "faceNeedsId":
      return takesFaceAnswer(screen) ? { name: "face-id" } : screen;
    case "employeeEntered":
      if (screen.name === "face-id") return { name: "camera", faceFor: event.employeeId };
      return { name: flow(screen).pin, employeeId: event.employeeId, signIn: screen.signIn };
    case "back":
      return { name: flow(screen).employee, employeeId: screen.employeeId, signIn: screen.signIn };
    case "checking":
      return screen.signIn ? { name: "busy", signIn: true, employeeId: screen.employeeId } : { name: "busy" };
    case "result":
      return { name: "result", result: event.result, signIn: screen.signIn, ...event.extra };
    case "faceResult":
      return takesFaceAnswer(screen) ? { name: "result", result: event.result } : screen;
    case "signedIn":
      return { name: screenAfterSignIn(event.elevation), elevation: event.elevation };
    case "enrol":
      return screen.elevation ? { name: "enrol", elevation: screen.elevation } : screen;
    case "settings":
      return screen.elevation ? { name: "settings", elevation: screen.elevation } : screen;
    case "retry":
      // A new key for the PIN keypad: a fresh one, nothing typed.
      return canRetry(screen)
        ? { name: flow(screen).pin, employeeId: screen.employeeId, signIn: screen.signIn, try: event.at }
        : screen;
    case "camera":
      return initialScreen();
    default:
      return screen;
  }
}
