import { useState } from 'preact/hooks';
import { ProblemNotice } from '../components/problem-notice.js';

/**
 * Sign in with an API key or a JWT from the configured issuer, pasted: both travel as the bearer
 * credential, and the gateway tells which it is. Kept for this tab only (session storage).
 */
export function SignInPage({ onSignIn, problem }: { onSignIn: (token: string) => void; problem: unknown }) {
  const [token, setToken] = useState('');
  return (
    <main class="page sign-in" id="main">
      <h1>Sign in</h1>
      <p>
        Paste an API key (<code>rag_…</code>) or a JWT issued for this gateway. It is kept in this tab's
        session storage only and sent to this gateway alone.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const trimmed = token.trim().replace(/^Bearer\s+/i, '');
          if (trimmed) onSignIn(trimmed);
        }}
      >
        <label for="credential">API key or JWT</label>
        <textarea
          id="credential"
          name="credential"
          rows={3}
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <ProblemNotice error={problem} />
    </main>
  );
}
