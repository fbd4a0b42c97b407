import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { signIn } from "../api.js";
import { Button, ErrorBanner, TextField, useAction } from "../ui.jsx";

export function Login() {
  const { query, route } = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = async (e) => {
    e.preventDefault();
    try {
      await action.run(() => signIn(email.trim(), password));
    } catch {
      return;
    }
    const next = query.next && query.next.startsWith("/manage/") ? query.next : "/manage/workers";
    route(next, true);
  };
  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={submit} noValidate>
        <h1>Sign in to Punchcard</h1>
        <ErrorBanner error={action.error} />
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <Button type="submit" busy={action.busy}>
          Sign in
        </Button>
      </form>
    </main>
  );
}
