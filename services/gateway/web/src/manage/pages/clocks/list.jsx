// Clocks: the list (kiosk apps and ZKTeco PUSH hardware clocks side by side: status, last seen
// or polled, firmware and counts, roster version), refreshed every 30 s; registering a clock
// (sysadmins; a kiosk's credential is shown once, a ZK clock's server settings); and the
// unregistered devices trying to connect, each adopted in one click. API: docs/device-sync.md.
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { client } from "../../api.js";
import { inZone, timeAgo } from "../../../shared/format.js";
import { Badge, Button, ErrorBanner, Loading, Page, Pager, useLoad, useMe } from "../../ui.jsx";
import { ClockStatus, Empty, clockHref, withQuery } from "../common.jsx";
import { Credential, ZkSetup } from "./credential.jsx";
import { RegisterForm } from "./forms.jsx";
import { deviceStatus, isZk, protocolText, unregisteredRows } from "./zk.js";

const REFRESH_MS = 30000;
const PAGE_SIZE = 100; // clocks a page, by name (the page is kept in the URL)

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

/** A ZK clock's device facts in the list: firmware, counts, and a skew warning. */
function DeviceSummary({ clock }) {
  const d = deviceStatus(clock);
  if (!d) return null;
  return (
    <div class="muted small">
      {d.firmware} · {d.counts.map(([what, n]) => `${n} ${what.toLowerCase()}`).join(" · ")}
      {d.skew.warn && (
        <div>
          <Badge tone="warn">Clock {d.skew.text}</Badge>
        </div>
      )}
    </div>
  );
}

function ClockRow({ clock: c }) {
  const seen = isZk(c) ? c.device?.last_poll_at || c.last_seen_at : c.last_seen_at;
  return (
    <tr>
      <th scope="row">
        <a href={clockHref(c.id)}>{c.name}</a>
        <div class="muted small">{c.serial_number}</div>
      </th>
      <td>{protocolText(c.protocol)}</td>
      <td>{c.site_id || <span class="muted">—</span>}</td>
      <td>
        <ClockStatus status={c.status} />
      </td>
      <td>
        {seen ? (
          <span title={inZone(seen, c.time_zone)}>{timeAgo(seen)}</span>
        ) : (
          <span class="muted">never</span>
        )}
        {isZk(c) ? <DeviceSummary clock={c} /> : c.software_version && <div class="muted small">{c.software_version}</div>}
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
            <th scope="col">Type</th>
            <th scope="col">Site</th>
            <th scope="col">Status</th>
            <th scope="col">Last seen / polled</th>
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

/** Devices that polled with a serial number no clock is registered with (sysadmins). */
function Unregistered({ devices, onAdopt }) {
  const rows = unregisteredRows(devices.data);
  if (!devices.error && rows.length === 0) return null;
  return (
    <section class="card stack" aria-labelledby="unregistered-title">
      <div class="section-head">
        <h2 id="unregistered-title">Unregistered devices trying to connect</h2>
      </div>
      <p class="muted small">
        These devices are pointed at Punchcard but no clock is registered with their serial number, so they get
        nothing. Adopt one to register it; ignore a device that is not yours.
      </p>
      <ErrorBanner error={devices.error} />
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Serial number</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
                <th scope="col" class="num">
                  Requests
                </th>
                <th scope="col">Address</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.serial_number}>
                  <th scope="row">
                    {d.serial_number}
                    {d.push_version && <div class="muted small">PUSH {d.push_version}</div>}
                  </th>
                  <td>{inZone(d.first_seen_at)}</td>
                  <td>
                    <span title={inZone(d.last_seen_at)}>{timeAgo(d.last_seen_at)}</span>
                  </td>
                  <td class="num">{d.requests}</td>
                  <td>{d.remote_addr || "—"}</td>
                  <td class="actions">
                    <Button type="button" variant="secondary" onClick={() => onAdopt(d)}>
                      Adopt
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function Clocks() {
  const { query, route } = useLocation();
  const offset = Number(query.offset || 0);
  const clocks = useLoad(() => client.listClocks({ query: { offset, limit: PAGE_SIZE } }), [offset]);
  const me = useMe();
  const canRegister = me?.role === "sysadmin";
  const devices = useLoad(async () => (canRegister ? client.listUnregisteredDevices() : null), [canRegister]);
  const [registering, setRegistering] = useState(false);
  const [adopting, setAdopting] = useState(null);
  const [registered, setRegistered] = useState(null);
  useEffect(() => {
    const t = setInterval(() => {
      clocks.reload();
      if (canRegister) devices.reload();
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [clocks.reload, devices.reload, canRegister]);
  const list = clocks.data?.data || [];
  const formOpen = registering || adopting;
  return (
    <Page
      title="Clocks"
      actions={
        <>
          <Button type="button" variant="secondary" onClick={clocks.reload} busy={clocks.loading}>
            Refresh
          </Button>
          {canRegister && !formOpen && !registered && (
            <Button type="button" onClick={() => setRegistering(true)}>
              Register a clock
            </Button>
          )}
        </>
      }
    >
      {registered &&
        (isZk(registered) ? (
          <ZkSetup clock={registered} onDone={() => setRegistered(null)} />
        ) : (
          <Credential clock={registered} credential={registered.credential} onDone={() => setRegistered(null)} />
        ))}
      {formOpen && (
        <RegisterForm
          key={adopting?.serial_number || "new"}
          adopt={adopting}
          onCancel={() => {
            setRegistering(false);
            setAdopting(null);
          }}
          onRegistered={(clock) => {
            setRegistering(false);
            setAdopting(null);
            setRegistered(clock);
            clocks.reload();
            devices.reload();
          }}
        />
      )}
      <ErrorBanner error={clocks.error} />
      {clocks.loading && !clocks.data ? (
        <Loading what="Loading clocks" />
      ) : (
        clocks.data && <ClockTable list={list} canRegister={canRegister} />
      )}
      {clocks.data && (
        <Pager
          offset={offset}
          count={clocks.data.count}
          pageSize={PAGE_SIZE}
          label="Pages of clocks"
          onGo={(at) => route(withQuery("/manage/clocks", { offset: at }), true)}
        />
      )}
      {canRegister && (
        <Unregistered
          devices={devices}
          onAdopt={(device) => {
            setRegistered(null);
            setRegistering(false);
            setAdopting(device);
            window.scrollTo({ top: 0, behavior: "smooth" });
          }}
        />
      )}
    </Page>
  );
}
