// The portal's small kit: loading data, the signed-in admin, fields with their error next to
// them, banners, a confirmation dialog (the native <dialog>: focus is trapped and Escape
// cancels), badges and downloads. Every control has a label; every error is announced
// (role="alert"). Dates and times: src/shared/format.js.
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import { whoAmI } from "./api.js";

/** {data, error, loading, reload} of an async loader, re-run when deps change. */
export function useLoad(loader, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await loader();
      if (mine === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ ...s, error, loading: false }));
    }
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    reload();
  }, [reload]);
  return { ...state, reload };
}

/** `value` once it has stopped changing for `ms` (what is typed in a search box, asked of
 * the API after a pause rather than at every key). */
export function useSettled(value, ms = 250) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Runs an action, keeping {busy, error}; field errors go to `errors[field]`. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      throw e;
    } finally {
      setBusy(false);
    }
  }, []);
  // A form's submit: refused at once with `wrong` (a {field, message} of its pure rules), else
  // `fn` is run and `then` given its result. A refusal or a failure is shown (beside its field,
  // or in the banner) and the form keeps what was typed.
  const submit = async (wrong, fn, then) => {
    if (wrong) {
      setError(wrong);
      return;
    }
    let result;
    try {
      result = await run(fn);
    } catch {
      return;
    }
    then?.(result);
  };
  const fieldError = (name) => (error && error.field === name ? error.message : null);
  const generalError = error && !error.field ? error : null;
  return { busy, error, setError, run, submit, fieldError, generalError };
}

export function Page({ title, actions, children, back }) {
  const heading = useRef(null);
  useEffect(() => {
    document.title = `${title} — Punchcard`;
    heading.current?.focus();
  }, [title]);
  return (
    <section class="page">
      {back}
      <header class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** A labelled input (``multiline``: a textarea) with its hint and its error next to it. */
export function TextField({ label, error, hint, id, class: cls, multiline = false, ...input }) {
  const Control = multiline ? "textarea" : "input";
  const auto = useId();
  const fid = id || auto;
  const describedBy = [hint && `${fid}-hint`, error && `${fid}-error`].filter(Boolean).join(" ");
  return (
    <div class={`field ${cls || ""}`}>
      <label for={fid}>{label}</label>
      {hint && (
        <p class="hint" id={`${fid}-hint`}>
          {hint}
        </p>
      )}
      <Control
        id={fid}
        rows={multiline ? 3 : undefined}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
        {...input}
      />
      {error && (
        <p class="field-error" id={`${fid}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField({ label, error, id, options, ...select }) {
  const auto = useId();
  const fid = id || auto;
  return (
    <div class="field">
      <label for={fid}>{label}</label>
      <select
        id={fid}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${fid}-error` : undefined}
        {...select}
      >
        {options.map(([value, text]) => (
          <option value={value} key={value}>
            {text}
          </option>
        ))}
      </select>
      {error && (
        <p class="field-error" id={`${fid}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

export function Switch({ label, checked, onChange, disabled, id }) {
  const auto = useId();
  const fid = id || auto;
  return (
    <div class="switch">
      <input
        type="checkbox"
        role="switch"
        id={fid}
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
      <label for={fid}>{label}</label>
    </div>
  );
}

export function ErrorBanner({ error }) {
  if (!error) return null;
  return (
    <div class="banner banner-error" role="alert">
      {error.message}
    </div>
  );
}

export function Notice({ children, tone = "info" }) {
  return (
    <div class={`banner banner-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what = "Loading" }) {
  return (
    <p class="loading" role="status">
      {what}…
    </p>
  );
}

export function Badge({ tone = "neutral", children }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function Button({ busy, children, variant = "primary", ...rest }) {
  return (
    <button
      class={`btn btn-${variant}`}
      disabled={busy || rest.disabled}
      aria-busy={busy ? "true" : undefined}
      {...rest}
    >
      {children}
    </button>
  );
}

/** A paged list's "Previous · 1–50 of 120 · Next" (shown when there is more than a page);
 * `onGo(offset)` moves to another page. `label` names the list for screen readers. */
export function Pager({ offset, count, pageSize, onGo, label = "Pages" }) {
  if (count <= pageSize) return null;
  return (
    <nav class="row" aria-label={label}>
      <Button variant="secondary" disabled={offset === 0} onClick={() => onGo(Math.max(0, offset - pageSize))}>
        Previous
      </Button>
      <span>
        {offset + 1}–{Math.min(offset + pageSize, count)} of {count}
      </span>
      <Button variant="secondary" disabled={offset + pageSize >= count} onClick={() => onGo(offset + pageSize)}>
        Next
      </Button>
    </nav>
  );
}

/** A button that asks first, in a modal dialog; onConfirm runs only on "yes". */
export function ConfirmButton({ label, title, message, confirmLabel, onConfirm, variant = "danger", busy }) {
  const dialog = useRef(null);
  const titleId = useId();
  return (
    <>
      <Button type="button" variant={variant} busy={busy} onClick={() => dialog.current.showModal()}>
        {label}
      </Button>
      <dialog ref={dialog} class="dialog" aria-labelledby={titleId}>
        <form method="dialog">
          <h2 id={titleId}>{title}</h2>
          <p>{message}</p>
          <div class="dialog-actions">
            <button class="btn btn-secondary" value="cancel" autofocus>
              Cancel
            </button>
            <button
              class={`btn btn-${variant}`}
              value="confirm"
              onClick={(e) => {
                e.preventDefault();
                dialog.current.close();
                onConfirm();
              }}
            >
              {confirmLabel || label}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Saves a Blob as a file named `name` (the browser's download). */
export function saveBlob(blob, name) {
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}

/** Saves a Response (CSV) as a file, under the name its Content-Disposition gives. */
export async function download(response, fallbackName) {
  const blob = await response.blob();
  const disposition = response.headers.get("content-disposition") || "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] || fallbackName;
  saveBlob(blob, name);
}

/** The signed-in admin ({role, site_ids, …}), asked once per sign-in; null until known. */
export function useMe() {
  const [me, setMe] = useState(null);
  useEffect(() => {
    whoAmI().then(setMe, () => {});
  }, []);
  return me;
}
