import type { AnswerInfo, Credential, RagClient } from '@rag/client/rag-client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ConfirmHost } from './components/confirm-dialog.js';
import { ProblemNotice } from './components/problem-notice.js';
import { parseRoute, type Route, routeHref } from './hash-route.js';
import {
  callbackFrom,
  finishSignIn,
  loadOidcSettings,
  type OidcSettings,
  refreshDueAt,
  refreshSignIn,
  revokeRefreshToken,
  SessionEnded,
  storedIssuerSession,
  storeIssuerSession,
} from './oidc.js';
import { CollectionsPage } from './pages/collections-page.js';
import { DocumentPage } from './pages/document-page.js';
import { DocumentsPage } from './pages/documents-page.js';
import { KeysPage } from './pages/keys-page.js';
import { SearchPage } from './pages/search-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { WebhookPage } from './pages/webhook-page.js';
import { clientFor, forgetCredential, storeCredential, storedCredential } from './session.js';

/** What every screen gets: the client, what the credential is, and a client that shows it each answer. */
export interface ScreenProps {
  client: RagClient;
  credential: Credential;
  clientWith: (onAnswer: (answer: AnswerInfo) => void) => RagClient;
}

/** The credential as stored now: a refresh replaces it there, and every request reads it anew. */
const currentCredential = () => storedCredential() ?? '';

/** After a refusal the issuer's session is no help either: both are forgotten together. */
function forgetSignIn() {
  forgetCredential();
  storeIssuerSession(null);
}

/** A transient failure to refresh (no network, the issuer's 5xx) is tried again after this long. */
const refreshRetryMs = 10_000;

let renewing: Promise<void> | null = null;

/**
 * Renews the issuer's access token when its refresh is due. One renewal at a time in the tab: issuers rotate
 * refresh tokens, and a second use of the same one is refused (and may end the whole sign-in).
 */
function renewIfDue(settings: OidcSettings): Promise<void> {
  renewing ??= (async () => {
    const session = storedIssuerSession();
    if (!session || Date.now() < refreshDueAt(session)) return;
    const renewed = await refreshSignIn(session, settings);
    storeCredential(renewed.token);
    storeIssuerSession(renewed.session);
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

function sessionEnded(error: SessionEnded): Error {
  return new Error(`Your sign-in at the issuer has ended: sign in again (${error.message})`);
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseRoute(window.location.hash));
      // A new screen: the focus moves to its content, so Tab goes on from there and a screen reader reads it.
      requestAnimationFrame(() => document.getElementById('main')?.focus());
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const [token, setToken] = useState<string | null>(() => storedCredential());
  const [credential, setCredential] = useState<Credential | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const route = useRoute();
  /** Back to the sign-in screen, saying why; the address keeps the screen to come back to. */
  const endSession = (why: unknown) => {
    forgetSignIn();
    setToken(null);
    setCredential(null);
    setProblem(why);
  };
  // A 401 on any screen means the gateway no longer takes the credential (an expired token, a revoked key):
  // the user is asked to sign in again rather than left with screens that all fail.
  const refusedCredential = (answer: AnswerInfo) => {
    if (answer.status === 401 && answer.path !== '/v1/credential')
      endSession(
        new Error('The gateway no longer accepts this credential (expired or revoked): sign in again'),
      );
  };
  const clientWith = (onAnswer: (answer: AnswerInfo) => void) =>
    clientFor(currentCredential, (answer) => {
      onAnswer(answer);
      refusedCredential(answer);
    });
  // One client per sign-in: it reads the credential at each request.
  const client = useMemo(() => (token ? clientFor(currentCredential, refusedCredential) : null), [token]);
  /** Counts the access tokens the issuer renewed: each renewal schedules the next. */
  const [renewals, setRenewals] = useState(0);
  /** The issuer to sign in at, from the gateway (undefined until it has answered, null for none). */
  const [oidc, setOidc] = useState<OidcSettings | null | undefined>(undefined);
  const [issuerAnswer] = useState(() => callbackFrom(window.location.search));
  const [finishing, setFinishing] = useState(issuerAnswer !== null);

  useEffect(() => {
    loadOidcSettings().then(setOidc, () => setOidc(null));
  }, []);

  // Back from the issuer: the code leaves the address bar at once, then is redeemed for the access token.
  useEffect(() => {
    if (!issuerAnswer || oidc === undefined) return;
    window.history.replaceState(null, '', window.location.pathname);
    const done = oidc
      ? finishSignIn(issuerAnswer, oidc).then(({ token: signedIn, returnTo, session }) => {
          storeCredential(signedIn);
          storeIssuerSession(session);
          setToken(signedIn);
          if (returnTo) window.location.hash = returnTo;
        })
      : Promise.reject(new Error('This gateway has no issuer to sign in at; paste a credential'));
    done.catch(setProblem).finally(() => setFinishing(false));
  }, [issuerAnswer, oidc]);

  // A tab opened again after its access token ran out renews it first, which needs the issuer's settings.
  const waitingForIssuer = oidc === undefined && storedIssuerSession() !== null;
  // Checked once per sign-in, once the issuer's settings are known.
  useEffect(() => {
    if (!client || waitingForIssuer) return;
    setCredential(null);
    const renewed = oidc ? renewIfDue(oidc).then(() => setRenewals((n) => n + 1)) : Promise.resolve();
    // A credential the server refuses is forgotten; the sign-in screen says why.
    renewed
      .then(() => client.credential())
      .then(setCredential, (error: unknown) =>
        endSession(error instanceof SessionEnded ? sessionEnded(error) : error),
      );
  }, [client, waitingForIssuer]);

  // A sign-in at the issuer that came with a refresh token is renewed before its access token expires, in
  // place: the screens keep their state and their next request carries the new token.
  useEffect(() => {
    const session = token && oidc ? storedIssuerSession() : null;
    if (!session || !oidc) return;
    const timer = setTimeout(
      () => {
        renewIfDue(oidc).then(
          () => setRenewals((n) => n + 1),
          (error: unknown) => {
            if (error instanceof SessionEnded) endSession(sessionEnded(error));
            else setTimeout(() => setRenewals((n) => n + 1), refreshRetryMs);
          },
        );
      },
      Math.max(0, refreshDueAt(session) - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [token, oidc, renewals]);

  const signOut = () => {
    const session = storedIssuerSession();
    if (session && oidc) void revokeRefreshToken(session, oidc);
    endSession(null);
  };

  if (finishing) {
    return (
      <main class="page" id="main">
        <p aria-live="polite">Signing in…</p>
      </main>
    );
  }
  if (!token || !client) {
    return (
      <SignInPage
        oidc={oidc ?? null}
        problem={problem}
        onSignIn={(entered) => {
          setProblem(null);
          storeIssuerSession(null);
          storeCredential(entered);
          setToken(entered);
        }}
      />
    );
  }
  if (!credential) {
    return (
      <main class="page" id="main">
        <p aria-live="polite">Checking the credential…</p>
        <ProblemNotice error={problem} />
      </main>
    );
  }

  const isAdmin = credential.role === 'admin';
  const props: ScreenProps = { client, credential, clientWith };
  const nav: { label: string; route: Route; active: boolean; shown: boolean }[] = [
    {
      label: 'Collections',
      route: { screen: 'collections' },
      active: ['collections', 'documents', 'document'].includes(route.screen),
      shown: true,
    },
    {
      label: 'Search',
      route: { screen: 'search', collection: route.screen === 'search' ? route.collection : null },
      active: route.screen === 'search',
      shown: true,
    },
    { label: 'API keys', route: { screen: 'keys' }, active: route.screen === 'keys', shown: isAdmin },
    { label: 'Webhook', route: { screen: 'webhook' }, active: route.screen === 'webhook', shown: isAdmin },
  ];

  return (
    <>
      <button
        type="button"
        class="skip-link"
        // The fragment names screens, so no "#main" link: the button moves the focus to the content.
        onClick={() => document.getElementById('main')?.focus()}
      >
        Skip to content
      </button>
      <header class="top">
        <span class="brand">rag-system</span>
        <nav aria-label="Main">
          <ul>
            {nav
              .filter((item) => item.shown)
              .map((item) => (
                <li key={item.label}>
                  <a href={routeHref(item.route)} aria-current={item.active ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <div class="who" data-testid="credential">
          <span>
            {credential.tenant} · <strong>{credential.role}</strong>
            {credential.bootstrap ? ' (bootstrap)' : ''}
            {credential.collections ? ` · ${credential.collections.join(', ')}` : ''}
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main class="page" id="main" tabIndex={-1}>
        <Screen route={route} props={props} />
      </main>
      <ConfirmHost />
    </>
  );
}

function Screen({ route, props }: { route: Route; props: ScreenProps }) {
  switch (route.screen) {
    case 'collections':
      return <CollectionsPage {...props} />;
    case 'documents':
      return <DocumentsPage {...props} collection={route.collection} />;
    case 'document':
      return <DocumentPage {...props} collection={route.collection} id={route.id} />;
    case 'search':
      return <SearchPage {...props} collection={route.collection} />;
    case 'keys':
      return <KeysPage {...props} />;
    case 'webhook':
      return <WebhookPage {...props} />;
  }
}
