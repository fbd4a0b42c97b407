import { Page } from "../ui.jsx";
export function Workers() { return <Page title="Workers"><p>Coming soon.</p></Page>; }
export function WorkerNew() { return <Page title="WorkerNew"><p>Coming soon.</p></Page>; }
export function WorkerProfile() { return <Page title="WorkerProfile"><p>Coming soon.</p></Page>; }
export function WorkerEdit() { return <Page title="WorkerEdit"><p>Coming soon.</p></Page>; }
