// Clocks: the list and registering (clocks/list.jsx), and a clock's page (clocks/page.jsx):
// who may use it, its recent commands, and the admin actions. API: docs/device-sync.md.
export { Clocks } from "./clocks/list.jsx";
export { ClockPage } from "./clocks/page.jsx";
