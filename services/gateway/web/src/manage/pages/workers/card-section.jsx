// Badge cards on a worker's Edit page: the worker's card numbers (sent to their hardware
// clocks), adding one (typed, or scanned with a reader that types like a keyboard) and
// deleting one. Sysadmins and managers of the worker's site change them; viewers read.
import { useState } from "preact/hooks";
import { client } from "../../api.js";
import { CARD_NUMBER_MAX_LENGTH } from "../../../shared/credentials.js";
import { formatDate } from "../../../shared/format.js";
import { Button, ConfirmButton, ErrorBanner, Loading, TextField, useAction, useLoad, useMe } from "../../ui.jsx";
import { cardNumberError, cardNumberOf, cardRefusal } from "./cards.js";
import { mayChange } from "../../roles.js";

export function BadgeCards({ worker }) {
  const cards = useLoad(() => client.listCards(worker.id), [worker.id]);
  const [typed, setTyped] = useState("");
  const [problem, setProblem] = useState(null);
  const [done, setDone] = useState(null);
  const role = useMe()?.role;
  const canChange = mayChange(role);
  const action = useAction();

  const run = async (call, message) => {
    setDone(null);
    setProblem(null);
    try {
      await action.run(call);
      setDone(message);
      await cards.reload();
      return true;
    } catch (error) {
      setProblem(cardRefusal(error));
      return false;
    }
  };
  const add = async (e) => {
    e.preventDefault();
    const refused = cardNumberError(typed);
    if (refused) {
      setDone(null);
      setProblem(refused);
      return;
    }
    const number = cardNumberOf(typed);
    if (await run(() => client.addCard(worker.id, { json: { number } }), `Card ${number} added.`)) setTyped("");
  };
  const remove = (number) => run(() => client.removeCard(worker.id, number), `Card ${number} deleted.`);
  const list = cards.data?.data || [];

  return (
    <section class="card stack" aria-labelledby="cards-h">
      <h2 id="cards-h">Badge cards</h2>
      <p class="hint">Proximity or badge cards this worker punches with at hardware clocks.</p>
      <ErrorBanner error={cards.error || (!problem && action.error ? action.error : null)} />
      {done && <p role="status">{done}</p>}
      {!cards.data ? (
        <Loading what="Loading cards" />
      ) : list.length === 0 ? (
        <p class="empty">No cards yet.</p>
      ) : (
        <ul class="stack" aria-label="Cards">
          {list.map((card) => (
            <li class="row" key={card.number}>
              <code>{card.number}</code>
              <span class="muted">added {formatDate(card.added_at)}</span>
              {canChange && (
                <ConfirmButton
                  label="Delete"
                  title={`Delete card ${card.number}?`}
                  message={`${worker.name} will no longer be able to punch with this card.`}
                  confirmLabel="Delete card"
                  busy={action.busy}
                  onConfirm={() => remove(card.number)}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {canChange && (
        <form class="row" onSubmit={add} noValidate>
          <TextField
            label="Card number"
            hint={`Type it, or scan the card with a reader (up to ${CARD_NUMBER_MAX_LENGTH} digits).`}
            inputMode="numeric"
            autoComplete="off"
            maxLength={CARD_NUMBER_MAX_LENGTH + 4}
            value={typed}
            onInput={(e) => {
              setProblem(null);
              setTyped(e.currentTarget.value);
            }}
            error={problem}
            class="grow"
          />
          <Button type="submit" busy={action.busy}>
            Add card
          </Button>
        </form>
      )}
    </section>
  );
}
