import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { onSession, signedIn, signOut, whoAmI } from "./api.js";
import { Audit } from "./pages/audit.jsx";
import { ClockPage, Clocks } from "./pages/clocks.jsx";
import { Login } from "./pages/login.jsx";
import { Punches } from "./pages/punches.jsx";
import { Reports } from "./pages/reports.jsx";
import { Timesheets } from "./pages/timesheets.jsx";
import { WorkerEdit, WorkerNew, WorkerProfile, Workers } from "./pages/workers.jsx";
import "./styles.css";

const NAV = [
  ["/manage/workers", "Workers"],
  ["/manage/clocks", "Clocks"],
  ["/manage/punches", "Punches"],
  ["/manage/timesheets", "Timesheets"],
  ["/manage/reports", "Reports"],
  ["/manage/audit", "Audit log"],
];

function Shell({ children }) {
  const { path, route } = useLocation();
  const [me, setMe] = useState(null);
  useEffect(() => {
    whoAmI().then(setMe, () => {});
  }, []);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Main">
        <p class="brand">Punchcard</p>
        <ul>
          {NAV.map(([href, label]) => (
            <li key={href}>
              <a href={href} aria-current={path.startsWith(href) ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
        <div class="who">
          {me && (
            <p>
              {me.name}
              <br />
              <span class="muted">{me.role}</span>
            </p>
          )}
          <button
            class="btn btn-secondary"
            type="button"
            onClick={() => {
              signOut();
              route("/manage/login");
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main id="main">{children}</main>
    </div>
  );
}

function NotFound() {
  return (
    <section class="page">
      <h1>Page not found</h1>
      <p>
        <a href="/manage/workers">Go to Workers</a>
      </p>
    </section>
  );
}

function App() {
  const { path, route } = useLocation();
  const [authed, setAuthed] = useState(signedIn());
  useEffect(() => onSession((s) => setAuthed(s !== null)), []);
  useEffect(() => {
    if (!authed && path !== "/manage/login") {
      route(`/manage/login?next=${encodeURIComponent(path)}`, true);
    } else if (authed && (path === "/manage" || path === "/manage/" || path === "/manage/login")) {
      route("/manage/workers", true);
    }
  }, [authed, path]);
  if (!authed) return <Login />;
  return (
    <Shell>
      <Router>
        <Route path="/manage/workers" component={Workers} />
        <Route path="/manage/workers/new" component={WorkerNew} />
        <Route path="/manage/workers/:id" component={WorkerProfile} />
        <Route path="/manage/workers/:id/edit" component={WorkerEdit} />
        <Route path="/manage/clocks" component={Clocks} />
        <Route path="/manage/clocks/:id" component={ClockPage} />
        <Route path="/manage/punches" component={Punches} />
        <Route path="/manage/timesheets" component={Timesheets} />
        <Route path="/manage/reports" component={Reports} />
        <Route path="/manage/audit" component={Audit} />
        <Route default component={NotFound} />
      </Router>
    </Shell>
  );
}

render(
  <LocationProvider scope="/manage">
    <App />
  </LocationProvider>,
  document.getElementById("app"),
);
