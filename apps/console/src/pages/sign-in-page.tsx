import { useState } from 'preact/hooks';
import { ProblemNotice } from '../components/problem-notice.js';
import { beginSignIn, type OidcSettings } from '../oidc.js';

/** Where the issuer sends the browser back: the console's own address, no fragment, no query. */
function redirectUri(): string {
  return new URL(import.meta.env.BASE_URL, window.location.origin).href;
}

/**
 * Sign in at the configured issuer (OpenID Connect, when the gateway names one), or with an API key or a
 * JWT pasted: both travel as the bearer credential, and the gateway tells which it is. Kept for this tab
 * only (session storage).
 */
export function SignInPage({
  onSignIn,
  problem,
  oidc,
}: {
  onSignIn: (token: string) => void;
  problem: unknown;
  oidc: OidcSettings | null;
}) {
  const [token, setToken] = useState('');
  const [leaving, setLeaving] = useState(false);
  const [issuerProblem, setIssuerProblem] = useState<unknown>(null);

  async function signInAtIssuer(settings: OidcSettings) {
    setIssuerProblem(null);
    setLeaving(true);
    try {
      window.location.assign(await beginSignIn(settings, redirectUri(), window.location.hash));
    } catch (error) {
      setIssuerProblem(error);
      setLeaving(false);
    }
  }

  return (
    <main class="page sign-in" id="main">
      <h1>Sign in</h1>
      {oidc && (
        <section class="issuer-sign-in" aria-labelledby="issuer-title">
          <h2 id="issuer-title">With your organisation's account</h2>
          <p>
            Sign in at <strong>{new URL(oidc.issuer).host}</strong>; the console gets a token for this gateway
            and keeps it in this tab only.
          </p>
          <button type="button" disabled={leaving} onClick={() => signInAtIssuer(oidc)}>
            {leaving ? 'Going to the issuer…' : `Sign in at ${new URL(oidc.issuer).host}`}
          </button>
          <ProblemNotice error={issuerProblem} />
          <h2>Or with a credential</h2>
        </section>
      )}
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
