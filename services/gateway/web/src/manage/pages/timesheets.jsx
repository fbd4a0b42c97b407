import { Page } from "../ui.jsx";
export function Timesheets() { return <Page title="Timesheets"><p>Coming soon.</p></Page>; }
