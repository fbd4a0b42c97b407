// Workers: the list (search, status filter), a worker's profile (facts, face enrolment, clocks
// with their sync state), the new-worker form and the Edit page with PIN Management; one file
// each under workers/.
export { WorkerNew } from "./workers/details.jsx";
export { WorkerEdit } from "./workers/edit.jsx";
export { Workers } from "./workers/list.jsx";
export { WorkerProfile } from "./workers/profile.jsx";
