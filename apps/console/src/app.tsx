import type { Credential, RagClient } from '@rag/client/rag-client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ConfirmHost } from './components/confirm-dialog.js';
import { ProblemNotice } from './components/problem-notice.js';
import { parseRoute, type Route, routeHref } from './hash-route.js';
import { callbackFrom, finishSignIn, loadOidcSettings, type OidcSettings } from './oidc.js';
import { CollectionsPage } from './pages/collections-page.js';
import { DocumentPage } from './pages/document-page.js';
import { DocumentsPage } from './pages/documents-page.js';
import { KeysPage } from './pages/keys-page.js';
import { SearchPage } from './pages/search-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { WebhookPage } from './pages/webhook-page.js';
import { clientFor, forgetCredential, storeCredential, storedCredential } from './session.js';

/** What every screen gets: the client, what the credential is, and the credential itself (for snippets). */
export interface ScreenProps {
  client: RagClient;
  credential: Credential;
  token: string;
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
  const client = useMemo(() => (token ? clientFor(token) : null), [token]);
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
      ? finishSignIn(issuerAnswer, oidc).then(({ token: signedIn, returnTo }) => {
          storeCredential(signedIn);
          setToken(signedIn);
          if (returnTo) window.location.hash = returnTo;
        })
      : Promise.reject(new Error('This gateway has no issuer to sign in at; paste a credential'));
    done.catch(setProblem).finally(() => setFinishing(false));
  }, [issuerAnswer, oidc]);

  useEffect(() => {
    if (!client) return;
    setCredential(null);
    client.credential().then(setCredential, (error: unknown) => {
      // A credential the server refuses is forgotten; the sign-in screen says why.
      forgetCredential();
      setToken(null);
      setProblem(error);
    });
  }, [client]);

  const signOut = () => {
    forgetCredential();
    setToken(null);
    setCredential(null);
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
  const props: ScreenProps = { client, credential, token };
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
