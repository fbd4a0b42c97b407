import { Page } from "../ui.jsx";
export function Reports() { return <Page title="Reports"><p>Coming soon.</p></Page>; }
