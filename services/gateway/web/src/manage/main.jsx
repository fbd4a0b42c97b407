import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { onSession, signedIn, signOut } from "./api.js";
import { Login } from "./pages/login.jsx";
import { mayManageUsers, mayReadAuditLog } from "./roles.js";
import { useMe } from "./ui.jsx";
import "./styles.css";

// Each section is loaded when first opened: the sign-in screen needs none of them.
const workers = () => import("./pages/workers.jsx");
const clocks = () => import("./pages/clocks.jsx");
const Workers = lazy(() => workers().then((m) => m.Workers));
const WorkerNew = lazy(() => workers().then((m) => m.WorkerNew));
const WorkerProfile = lazy(() => workers().then((m) => m.WorkerProfile));
const WorkerEdit = lazy(() => workers().then((m) => m.WorkerEdit));
const Clocks = lazy(() => clocks().then((m) => m.Clocks));
const ClockPage = lazy(() => clocks().then((m) => m.ClockPage));
const Punches = lazy(() => import("./pages/punches.jsx").then((m) => m.Punches));
const Timesheets = lazy(() => import("./pages/timesheets.jsx").then((m) => m.Timesheets));
const Reports = lazy(() => import("./pages/reports.jsx").then((m) => m.Reports));
const Audit = lazy(() => import("./pages/audit.jsx").then((m) => m.Audit));
const Users = lazy(() => import("./pages/users.jsx").then((m) => m.Users));
const Account = lazy(() => import("./pages/account.jsx").then((m) => m.Account));

// [href, label, who sees it (all when absent)]
const NAV = [
  ["/manage/workers", "Workers"],
  ["/manage/clocks", "Clocks"],
  ["/manage/punches", "Punches"],
  ["/manage/timesheets", "Timesheets"],
  ["/manage/reports", "Reports"],
  ["/manage/users", "Users", mayManageUsers],
  ["/manage/audit", "Audit log", mayReadAuditLog],
];

function Shell({ children }) {
  const { path, route } = useLocation();
  const me = useMe();
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Main">
        <p class="brand">Punchcard</p>
        <ul>
          {NAV.filter(([, , shown]) => !shown || shown(me?.role)).map(([href, label]) => (
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
          <a href="/manage/account" aria-current={path.startsWith("/manage/account") ? "page" : undefined}>
            Change password
          </a>
          <button
            class="btn btn-secondary"
            type="button"
            onClick={async () => {
              await signOut();
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
        <Route path="/manage/users" component={Users} />
        <Route path="/manage/audit" component={Audit} />
        <Route path="/manage/account" component={Account} />
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
