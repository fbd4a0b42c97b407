import { Page } from "../ui.jsx";
export function Clocks() { return <Page title="Clocks"><p>Coming soon.</p></Page>; }
export function ClockPage() { return <Page title="ClockPage"><p>Coming soon.</p></Page>; }
