// One clock's page: its details (for a ZKTeco PUSH clock, the device's own status too), who may
// use it, its recent commands, and the admin actions (edit, re-key a kiosk app, resync, revoke;
// sysadmins). API: docs/device-sync.md, "Admin API".
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import { client } from "../../api.js";
import { mayChange } from "../../roles.js";
import { inZone, timeAgo } from "../../../shared/format.js";
import {
  Badge,
  Button,
  ConfirmButton,
  ErrorBanner,
  Loading,
  Notice,
  Page,
  TextField,
  useAction,
  useLoad,
  useMe,
} from "../../ui.jsx";
import { ClockStatus, friendly, loadWorkersById } from "../common.jsx";
import { ClockCommands } from "./commands.jsx";
import { FaceSearch } from "./face-search.jsx";
import { Credential } from "./credential.jsx";
import { EditDialog, RevokeDialog } from "./forms.jsx";
import { RULES, addedNotice, namesById } from "./rules.js";
import { comKeyChange, deviceStatus, isZk, protocolText } from "./zk.js";
import { ClockWorkers } from "./workers.jsx";

const ROSTER_PAGE = 100; // the clock's workers, a page at a time (a site rule may put thousands)

function Details({ clock: c }) {
  return (
    <section class="card" aria-labelledby="clock-facts">
      <h2 id="clock-facts">Details</h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <ClockStatus status={c.status} />
        </dd>
        <dt>Last seen</dt>
        <dd>{c.last_seen_at ? `${inZone(c.last_seen_at, c.time_zone)} (${timeAgo(c.last_seen_at)})` : "never"}</dd>
        <dt>Roster version</dt>
        <dd>
          applied {c.applied_sequence} of {c.last_sequence} · {c.roster_size} workers · {c.pending_commands} pending
          commands {c.status !== "revoked" && (c.in_sync ? <Badge tone="ok">In sync</Badge> : <Badge tone="warn">Not in sync</Badge>)}
        </dd>
        <dt>Type</dt>
        <dd>{protocolText(c.protocol)}</dd>
        <dt>Serial number</dt>
        <dd>{c.serial_number}</dd>
        <dt>Site</dt>
        <dd>{c.site_id || "—"}</dd>
        <dt>Time zone</dt>
        <dd>{c.time_zone}</dd>
        {!isZk(c) && (
          <>
            <dt>Software</dt>
            <dd>{c.software_version || "—"}</dd>
          </>
        )}
        <dt>Registered</dt>
        <dd>{inZone(c.created_at, c.time_zone)}</dd>
      </dl>
    </section>
  );
}

/** A ZKTeco PUSH clock's own status: polls, firmware, counts, its clock's skew, its zone. */
function Device({ clock }) {
  const d = deviceStatus(clock);
  return (
    <section class="card" aria-labelledby="clock-device">
      <h2 id="clock-device">Device</h2>
      {!d ? (
        <p class="muted">
          Not heard from yet. Point the device at this server (COMM. → Cloud Server Setting / ADMS; see
          docs/hardware-clocks.md); its status shows here after its first poll.
        </p>
      ) : (
        <dl class="facts">
          <dt>Connection</dt>
          <dd>
            <ClockStatus status={clock.status} />{" "}
            {d.lastPollAt ? `last poll ${inZone(d.lastPollAt, clock.time_zone)} (${timeAgo(d.lastPollAt)})` : "no poll yet"}
          </dd>
          <dt>Firmware</dt>
          <dd>{d.firmware}</dd>
          <dt>Address</dt>
          <dd>{d.ip}</dd>
          {d.counts.map(([what, n]) => (
            <Fragment key={what}>
              <dt>{what}</dt>
              <dd>{n}</dd>
            </Fragment>
          ))}
          <dt>Clock skew</dt>
          <dd>
            {d.skew.text}{" "}
            {d.skew.warn && <Badge tone="warn">Beyond the allowed skew: the device is being resynced</Badge>}
          </dd>
          <dt>Time zone told</dt>
          <dd>
            {d.offset} <span class="muted small">(from {clock.time_zone}; told again after a DST change)</span>
          </dd>
          {d.stamp && (
            <>
              <dt>Punches received up to</dt>
              <dd>{d.stamp}</dd>
            </>
          )}
        </dl>
      )}
    </section>
  );
}

/**
 * "This clock verifies PINs" (ZKTeco PUSH clocks, sysadmins): the clock then stores its workers'
 * PINs and checks them itself. Off by default; the tenant must also let hardware clocks verify
 * PINs (Reports → PIN policy). docs/hardware-clocks.md, "Opting a clock in".
 */
export function DevicePins({ clock, sysadmin, onChanged }) {
  const action = useAction();
  const on = Boolean(clock.device_verifies_pins);
  const toggle = async () => {
    try {
      await action.run(() => client.updateClock(clock.id, { json: { device_verifies_pins: !on } }));
      onChanged(on ? "This clock no longer gets PINs: they are being deleted from it." : "This clock now gets its workers' PINs.");
    } catch {
      /* banner */
    }
  };
  return (
    <section class="card stack" aria-labelledby="clock-pins">
      <h2 id="clock-pins">PINs on this clock</h2>
      <p>
        {on ? (
          <Badge tone="warn">This clock verifies PINs</Badge>
        ) : (
          <Badge tone="neutral">No PINs on this clock</Badge>
        )}
      </p>
      <p class="muted">
        By default a hardware clock gets no PIN: workers identify there by face, fingerprint or card, and a worker with
        only a PIN is an "Unknown User" there. If you turn this on, the clock will store workers' PINs and check them
        itself. Anyone who can read the clock's memory (its menu with the device's admin password, a USB backup, a stolen
        clock) can read them. Use it only for a clock in a controlled place, for workers who cannot use a face, finger or
        card. Only PINs set while "Hardware clocks may verify PINs" is on in the PIN policy reach a clock; turning this
        off deletes the PINs from the clock.
      </p>
      {sysadmin && clock.status !== "revoked" && (
        <ConfirmButton
          label={on ? "Stop sending PINs" : "Let this clock verify PINs"}
          title={on ? "Delete the PINs from this clock?" : "Store workers' PINs on this clock?"}
          message={
            on
              ? "The clock gets its workers again without their PINs; they punch there by face, finger or card."
              : "The clock will store its workers' PINs and check them itself. Anyone who can read its memory can read them."
          }
          confirmLabel={on ? "Stop sending PINs" : "Store PINs on this clock"}
          onConfirm={toggle}
          busy={action.busy}
        />
      )}
      <ErrorBanner error={action.error} />
    </section>
  );
}

/**
 * The Comm Key of a ZKTeco PUSH clock (sysadmins set or remove it): with one, the clock serves
 * only requests that carry it, or that come from where the device's last handshake with it came
 * from. The key is never shown. docs/hardware-clocks.md, "Comm Key".
 */
export function ComKey({ clock, sysadmin, onChanged }) {
  const action = useAction();
  const [key, setKey] = useState("");
  const on = Boolean(clock.com_key_set);
  const save = async (value) => {
    try {
      await action.run(() => client.updateClock(clock.id, { json: comKeyChange(value) }));
      setKey("");
      onChanged(value ? "The new Comm Key is set: the device must send it when it next connects." : "The Comm Key is removed.");
    } catch {
      /* next to the field */
    }
  };
  return (
    <section class="card stack" aria-labelledby="clock-com-key">
      <h2 id="clock-com-key">Comm Key</h2>
      <p>{on ? <Badge tone="ok">Comm Key set</Badge> : <Badge tone="neutral">No Comm Key</Badge>}</p>
      <p class="muted">
        Optional. Set the same key here and on the device (COMM. → Comm Key). The device sends it in the clear when it
        connects; Punchcard then serves only requests that carry it, or that come from the address that last connected
        with it. Without a key, the device is known by its serial number alone.
      </p>
      {sysadmin && clock.status !== "revoked" && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (key.trim()) save(key);
          }}
        >
          <TextField
            label={on ? "New Comm Key" : "Comm Key"}
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            error={friendly(action.fieldError("com_key"), RULES.com_key)}
            autoComplete="off"
          />
          <Button type="submit" busy={action.busy} disabled={!key.trim()}>
            Set Comm Key
          </Button>
          {on && (
            <ConfirmButton
              label="Remove Comm Key"
              title="Remove the Comm Key?"
              message="The clock is then known by its serial number alone."
              confirmLabel="Remove Comm Key"
              onConfirm={() => save(null)}
              busy={action.busy}
            />
          )}
        </form>
      )}
      <ErrorBanner error={action.generalError} />
    </section>
  );
}

function AdminActions({ act, onEdit, onResync, onRekey, onRevoke, kiosk }) {
  return (
    <>
      <Button type="button" variant="secondary" onClick={onEdit}>
        Edit
      </Button>
      <Button type="button" variant="secondary" onClick={onResync} busy={act.busy}>
        Resync
      </Button>
      {kiosk && (
      <ConfirmButton
        label="Re-key"
        title="Issue a new credential?"
        message="The current credential stops working at once: the kiosk using it must be paired again with the new one."
        confirmLabel="Re-key clock"
        onConfirm={onRekey}
        busy={act.busy}
      />
      )}
      <Button type="button" variant="danger" onClick={onRevoke}>
        Revoke
      </Button>
    </>
  );
}

/**
 * The clock, its workers and commands, and the actions on them: each action says what it did
 * (notice) and reloads the three lists; a refusal shows in the page's banner.
 */
function useClock(id) {
  const clock = useLoad(() => client.getClock(id), [id]);
  const [page, setPage] = useState({ id, at: 0 });
  const rosterAt = page.id === id ? page.at : 0; // another clock starts at its first page
  const workers = useLoad(
    () => client.listClockWorkers(id, { query: { offset: rosterAt, limit: ROSTER_PAGE } }),
    [id, rosterAt],
  );
  const commands = useLoad(() => client.listClockCommands(id, { query: { limit: 50 } }), [id]);
  // The names of the commands' workers (one may have left the clock): those workers only.
  const commandWorkers = (commands.data?.data || []).map((c) => c.worker_id);
  const named = useLoad(() => loadWorkersById(commandWorkers), [commandWorkers.join()]);
  const [notice, setNotice] = useState(null);
  const [rekeyed, setRekeyed] = useState(null);
  const act = useAction();
  const remove = useAction();

  const refresh = () => {
    clock.reload();
    workers.reload();
    commands.reload();
  };
  const perform = (action, call, then) => async () => {
    setNotice(null);
    try {
      then(await action.run(call));
      refresh();
    } catch {
      /* banner */
    }
  };
  const rekey = perform(act, () => client.rotateClockCredential(id), setRekeyed);
  const resync = perform(
    act,
    () => client.resyncClock(id, { json: { reason: "admin request" } }),
    (answer) => setNotice(`Full resync queued: ${answer.commands_queued} commands.`),
  );
  const unassign = (w) =>
    perform(
      remove,
      () => client.unassignWorkerFromClock(id, w.worker_id),
      () => setNotice(`${w.display_name} removed from this clock.`),
    )();
  const roster = { offset: rosterAt, pageSize: ROSTER_PAGE, onGo: (at) => setPage({ id, at }) };
  return { clock, workers, roster, named, commands, notice, setNotice, rekeyed, setRekeyed, act, remove, refresh, rekey, resync, unassign };
}

export function ClockPage() {
  const { params } = useRoute();
  const id = params.id;
  const state = useClock(id);
  const { clock, workers, named, commands, notice, setNotice, rekeyed, setRekeyed, act, remove, refresh } = state;
  const me = useMe();
  const [dialog, setDialog] = useState(null);

  const back = (
    <p class="back">
      <a href="/manage/clocks">← All clocks</a>
    </p>
  );
  if (clock.error && !clock.data) {
    return (
      <Page title="Clock" back={back}>
        <ErrorBanner error={clock.error} />
      </Page>
    );
  }
  if (!clock.data) {
    return (
      <Page title="Clock" back={back}>
        <Loading what="Loading the clock" />
      </Page>
    );
  }
  const c = clock.data;
  const sysadmin = me?.role === "sysadmin";
  const revoked = c.status === "revoked";
  const canAssign = mayChange(me?.role) && !revoked;
  const names = namesById(Object.values(named.data || {}), workers.data?.data || []);
  const closeWith = (text) => () => {
    setDialog(null);
    setNotice(text);
    refresh();
  };

  return (
    <Page
      title={c.name}
      back={back}
      actions={
        sysadmin &&
        !revoked && (
          <AdminActions
            act={act}
            onEdit={() => setDialog("edit")}
            onResync={state.resync}
            onRekey={state.rekey}
            onRevoke={() => setDialog("revoke")}
            kiosk={!isZk(c)}
          />
        )
      }
    >
      <ErrorBanner error={act.error || remove.error} />
      {notice && <Notice tone="ok">{notice}</Notice>}
      {rekeyed && (
        <Credential
          clock={rekeyed}
          credential={rekeyed.credential}
          title="New credential"
          onDone={() => setRekeyed(null)}
        />
      )}
      {revoked && (
        <Notice tone="warn">
          Revoked {inZone(c.revoked_at, c.time_zone)}
          {c.revoked_reason ? `: ${c.revoked_reason}` : ""}. This clock is refused.
        </Notice>
      )}
      <Details clock={c} />
      {!isZk(c) && <FaceSearch clockId={id} />}
      {isZk(c) && <Device clock={c} />}
      {isZk(c) && (
        <ComKey
          clock={c}
          sysadmin={sysadmin}
          onChanged={(text) => {
            setNotice(text);
            refresh();
          }}
        />
      )}
      {isZk(c) && (
        <DevicePins
          clock={c}
          sysadmin={sysadmin}
          onChanged={(text) => {
            setNotice(text);
            refresh();
          }}
        />
      )}
      <ClockWorkers
        clockId={id}
        clock={c}
        workers={workers}
        roster={state.roster}
        canAssign={canAssign}
        sysadmin={sysadmin}
        remove={remove}
        onAdded={(w, answer) => {
          setNotice(addedNotice(w.name, answer));
          refresh();
        }}
        onRemove={state.unassign}
      />
      <ClockCommands clock={c} commands={commands} names={names} onRefresh={refresh} />
      {sysadmin && (
        <>
          <EditDialog clock={c} open={dialog === "edit"} onClose={() => setDialog(null)} onSaved={closeWith("Clock saved.")} />
          <RevokeDialog clock={c} open={dialog === "revoke"} onClose={() => setDialog(null)} onRevoked={closeWith(null)} />
        </>
      )}
    </Page>
  );
}
