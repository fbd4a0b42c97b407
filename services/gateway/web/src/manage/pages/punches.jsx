// Punches: the ledger as recorded (docs/punch.md), filtered by worker, clock, site and dates,
// with each punch's method and score, offline, "Needs review" (an offline punch captured long
// before it was received) and correction marks, and corrections with a reason: add a missed
// punch, void, replace (punches/). Times are in the zone of the clock/site where the punch was
// made (the ledger keeps it with each punch). CSV is made here (the API has none).
export { Method } from "./punches/cells.jsx";
export { Punches } from "./punches/page.jsx";
