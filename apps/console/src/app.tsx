import type { Credential, RagClient } from '@rag/client/rag-client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ProblemNotice } from './components/problem-notice.js';
import { parseRoute, type Route, routeHref } from './hash-route.js';
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
    const onChange = () => setRoute(parseRoute(window.location.hash));
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

  if (!token || !client) {
    return (
      <SignInPage
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
      <a class="skip-link" href="#main">
        Skip to content
      </a>
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
