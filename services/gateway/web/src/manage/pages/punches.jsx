import { Page } from "../ui.jsx";
export function Punches() { return <Page title="Punches"><p>Coming soon.</p></Page>; }
