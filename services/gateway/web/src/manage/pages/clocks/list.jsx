// Clocks: the list (status, last seen, roster version), refreshed every 30 s, and registering
// a clock (sysadmins; its credential is shown once). API: docs/device-sync.md, "Admin API".
import { useEffect, useState } from "preact/hooks";
import { client } from "../../api.js";
import { inZone, timeAgo } from "../../../shared/format.js";
import { Badge, Button, ErrorBanner, Loading, Page, useLoad, useMe } from "../../ui.jsx";
import { ClockStatus, Empty, clockHref } from "../common.jsx";
import { Credential } from "./credential.jsx";
import { RegisterForm } from "./forms.jsx";

const REFRESH_MS = 30000;

function RosterVersion({ clock }) {
  const behind = clock.last_sequence - clock.applied_sequence;
  return (
    <span class="roster">
      <span>
        {clock.applied_sequence} / {clock.last_sequence}
      </span>
      {clock.status !== "revoked" &&
        (clock.in_sync ? (
          <Badge tone="ok">In sync</Badge>
        ) : (
          <Badge tone="warn">{behind > 0 ? `${behind} behind` : "Not in sync"}</Badge>
        ))}
    </span>
  );
}

function ClockRow({ clock: c }) {
  return (
    <tr>
      <th scope="row">
        <a href={clockHref(c.id)}>{c.name}</a>
        <div class="muted small">{c.serial_number}</div>
      </th>
      <td>{c.site_id || <span class="muted">—</span>}</td>
      <td>
        <ClockStatus status={c.status} />
      </td>
      <td>
        {c.last_seen_at ? (
          <span title={inZone(c.last_seen_at, c.time_zone)}>{timeAgo(c.last_seen_at)}</span>
        ) : (
          <span class="muted">never</span>
        )}
        {c.software_version && <div class="muted small">{c.software_version}</div>}
      </td>
      <td>
        <RosterVersion clock={c} />
      </td>
      <td class="num">{c.roster_size}</td>
      <td class="num">{c.pending_commands}</td>
    </tr>
  );
}

function ClockTable({ list, canRegister }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">Registered clocks</caption>
        <thead>
          <tr>
            <th scope="col">Clock</th>
            <th scope="col">Site</th>
            <th scope="col">Status</th>
            <th scope="col">Last seen</th>
            <th scope="col">
              Roster version <span class="muted small">(applied / last)</span>
            </th>
            <th scope="col" class="num">
              Workers
            </th>
            <th scope="col" class="num">
              Pending
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((c) => (
            <ClockRow clock={c} key={c.id} />
          ))}
        </tbody>
      </table>
      {list.length === 0 && (
        <Empty>
          No clocks yet.{canRegister ? " Register one to pair a kiosk tablet or a hardware clock." : ""}
        </Empty>
      )}
    </div>
  );
}

export function Clocks() {
  const clocks = useLoad(() => client.listClocks(), []);
  const me = useMe();
  const [registering, setRegistering] = useState(false);
  const [registered, setRegistered] = useState(null);
  useEffect(() => {
    const t = setInterval(() => clocks.reload(), REFRESH_MS);
    return () => clearInterval(t);
  }, [clocks.reload]);
  const list = clocks.data?.data || [];
  const canRegister = me?.role === "sysadmin";
  return (
    <Page
      title="Clocks"
      actions={
        <>
          <Button type="button" variant="secondary" onClick={clocks.reload} busy={clocks.loading}>
            Refresh
          </Button>
          {canRegister && !registering && !registered && (
            <Button type="button" onClick={() => setRegistering(true)}>
              Register a clock
            </Button>
          )}
        </>
      }
    >
      {registered && (
        <Credential
          clock={registered}
          credential={registered.credential}
          onDone={() => setRegistered(null)}
        />
      )}
      {registering && (
        <RegisterForm
          onCancel={() => setRegistering(false)}
          onRegistered={(clock) => {
            setRegistering(false);
            setRegistered(clock);
            clocks.reload();
          }}
        />
      )}
      <ErrorBanner error={clocks.error} />
      {clocks.loading && !clocks.data ? (
        <Loading what="Loading clocks" />
      ) : (
        clocks.data && <ClockTable list={list} canRegister={canRegister} />
      )}
    </Page>
  );
}
