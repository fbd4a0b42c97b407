import { Page } from "../ui.jsx";
export function Audit() { return <Page title="Audit"><p>Coming soon.</p></Page>; }
