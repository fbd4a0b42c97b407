// The time clock's screens as a state machine (pure, for useReducer): the camera, then by
// "Use PIN Instead" the Employee ID, the PIN, "Checking…" and the result, which goes back to
// the camera (Done, its timer) or, after a wrong PIN, to the PIN again (Try again).
//
//   camera --usePin--> employee --employeeEntered--> pin --checking--> busy --result--> result
//   pin --back--> employee (what was typed kept)      result --retry (WRONG_PIN)--> pin
//   any --camera--> camera (Cancel, Done, idle)       camera --result--> result (a face punch)

export const initialScreen = () => ({ name: "camera" });

/** Whether the result on screen offers "Try again" (a wrong PIN). */
export function canRetry(screen) {
  return screen.name === "result" && screen.result.reason === "WRONG_PIN";
}

export function nextScreen(screen, event) {
  switch (event.type) {
    case "usePin":
      return { name: "employee" };
    case "employeeEntered":
      return { name: "pin", employeeId: event.employeeId };
    case "back":
      return { name: "employee", employeeId: screen.employeeId };
    case "checking":
      return { name: "busy" };
    case "result":
      return { name: "result", result: event.result, ...event.extra };
    case "retry":
      // A new key for the PIN keypad: a fresh one, nothing typed.
      return canRetry(screen) ? { name: "pin", employeeId: screen.employeeId, try: event.at } : screen;
    case "camera":
      return initialScreen();
    default:
      return screen;
  }
}
