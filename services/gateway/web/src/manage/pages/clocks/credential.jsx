// A clock's credential, shown once (after registering or re-keying): a clear box, a copy
// button, and how to pair a kiosk tablet with it.
import { useEffect, useRef } from "preact/hooks";
import { Button } from "../../ui.jsx";
import { CopyButton } from "../common.jsx";

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
