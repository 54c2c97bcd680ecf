import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { storeToken } from '../session';

/** Sign in with the workspace's API token; it is checked against the API before it is kept. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return setError('Enter your workspace API token.');
    setBusy(true);
    setError(null);
    try {
      await api('GET', '/cohorts?limit=1', undefined, value);
      storeToken(value);
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'This token is not valid' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Cohort Control</h1>
      <p>Import your analytics cohorts into Braze, once or on a schedule.</p>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit} noValidate>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error token-help' : 'token-help'}
        />
        <p id="token-help" class="hint">
          Your workspace's API token. It stays in this browser tab only and is forgotten when you sign out or close the
          tab.
        </p>
        {error && (
          <p id="token-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
