// A clock's credential, shown once (after registering or re-keying): a clear box, a copy
// button, and how to pair a kiosk tablet with it; for a ZKTeco PUSH clock, where to point it.
import { useEffect, useRef } from "preact/hooks";
import { Button } from "../../ui.jsx";
import { CopyButton } from "../common.jsx";
import { serverHint } from "./zk.js";

export function Credential({ clock, credential, onDone, title = "Clock registered" }) {
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="card credential" aria-labelledby="credential-title">
      <h2 id="credential-title" tabIndex={-1} ref={heading}>
        {title}: {clock.name}
      </h2>
      <p>
        <strong>Copy this credential now. It will not be shown again.</strong> Only its hash is
        stored; if it is lost, re-key the clock.
      </p>
      <p class="secret" aria-label="Clock credential">
        {credential}
      </p>
      <div class="row">
        <CopyButton text={credential} label="Copy credential" />
      </div>
      <h3>Pair a kiosk tablet</h3>
      <ol class="steps">
        <li>
          On the tablet, open <code>{location.origin}/kiosk/</code>.
        </li>
        <li>Enter (paste) the credential above when the kiosk asks for it.</li>
        <li>The kiosk downloads its roster; this clock then shows as Online here.</li>
      </ol>
      <div class="row">
        <Button type="button" variant="secondary" onClick={onDone}>
          I have copied it
        </Button>
      </div>
    </section>
  );
}

/** After registering (or adopting) a ZKTeco PUSH clock: no credential, but where to point it. */
export function ZkSetup({ clock, onDone }) {
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), []);
  const hint = serverHint(location);
  return (
    <section class="card credential" aria-labelledby="zk-setup-title">
      <h2 id="zk-setup-title" tabIndex={-1} ref={heading}>
        Clock registered: {clock.name}
      </h2>
      <p>
        Only the device with serial number <strong>{clock.serial_number}</strong> is served. Menu names vary by
        model; docs/hardware-clocks.md has the details.
      </p>
      <h3>Point the device at Punchcard</h3>
      <ol class="steps">
        <li>On the device, open the menu: COMM. (or Comm.) → Cloud Server Setting (ADMS on some models).</li>
        <li>
          Server address <code>{hint.address}</code>, port <code>{hint.port}</code>
          {hint.https ? "; turn HTTPS on if the firmware offers it" : ""}. Turn "Enable Domain Name" on when the
          address is a name, and the proxy off.
        </li>
        <li>Save; the device restarts its connection. This clock then shows as Online here, with its firmware and counts.</li>
      </ol>
      <div class="row">
        <Button type="button" variant="secondary" onClick={onDone}>
          Done
        </Button>
      </div>
    </section>
  );
}
