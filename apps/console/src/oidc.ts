/**
 * Sign-in at the gateway's JWT issuer with OpenID Connect: the authorization code flow with PKCE (S256) for
 * a public client, done in the page. The issuer's access token, a JWT for this API, becomes the console's
 * bearer credential like a pasted one; the gateway verifies it as it verifies every JWT. What the flow
 * needs between leaving for the issuer and coming back (state, the PKCE verifier) waits in this tab's
 * session storage and is removed as soon as the answer is read.
 */

/** What GET /console/config.json says about the issuer; null when the gateway has none configured. */
export interface OidcSettings {
  issuer: string;
  client_id: string;
  scope: string;
  /** RFC 8707 resource indicator naming the API, for providers that issue JWT access tokens per resource. */
  resource?: string;
}

interface Pending {
  state: string;
  verifier: string;
  redirectUri: string;
  tokenEndpoint: string;
  /** The screen to return to (the URL fragment before leaving). */
  returnTo: string;
}

const pendingKey = 'rag-console.oidc-pending';

/** The console's settings from the gateway that served it; none (paste only) when it offers no issuer. */
export async function loadOidcSettings(fetchFn: typeof fetch = fetch): Promise<OidcSettings | null> {
  const answer = await fetchFn('config.json', { headers: { accept: 'application/json' } });
  if (!answer.ok) return null;
  const config = (await answer.json()) as { oidc?: OidcSettings | null };
  return config.oidc ?? null;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** RFC 7636: the S256 challenge of a verifier. */
export async function pkceChallenge(verifier: string): Promise<string> {
  if (!crypto.subtle) {
    throw new Error(
      'Signing in at the issuer needs a secure page: open the console over HTTPS or on localhost',
    );
  }
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The issuer's endpoints from its discovery document, which must name the same issuer. */
async function discover(
  issuer: string,
  fetchFn: typeof fetch,
): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const address = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let answer: Response;
  try {
    answer = await fetchFn(address, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new Error(`Cannot reach the issuer's discovery document at ${address}`, { cause: error });
  }
  if (!answer.ok) throw new Error(`The issuer's discovery document at ${address} answered ${answer.status}`);
  const document = (await answer.json()) as Record<string, unknown>;
  if (document.issuer !== issuer) {
    throw new Error(`The discovery document names issuer ${String(document.issuer)}, not ${issuer}`);
  }
  const { authorization_endpoint, token_endpoint } = document;
  if (typeof authorization_endpoint !== 'string' || typeof token_endpoint !== 'string') {
    throw new Error('The discovery document names no authorization or token endpoint');
  }
  // The page's Content-Security-Policy lets it connect to the issuer's origin only.
  if (new URL(token_endpoint).origin !== new URL(issuer).origin) {
    throw new Error(
      `The issuer's token endpoint ${token_endpoint} is not on the issuer's origin, the only one the console may call`,
    );
  }
  return { authorization_endpoint, token_endpoint };
}

/**
 * Prepares the trip to the issuer and answers where to send the browser: the authorization endpoint with
 * the client, the redirect back to the console, the scope, a fresh state and the PKCE challenge.
 */
export async function beginSignIn(
  settings: OidcSettings,
  redirectUri: string,
  returnTo: string,
  storage: Storage = sessionStorage,
  fetchFn: typeof fetch = fetch,
): Promise<string> {
  const endpoints = await discover(settings.issuer, fetchFn);
  const pending: Pending = {
    state: randomToken(16),
    verifier: randomToken(32),
    redirectUri,
    tokenEndpoint: endpoints.token_endpoint,
    returnTo,
  };
  const url = new URL(endpoints.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: settings.client_id,
    redirect_uri: redirectUri,
    scope: settings.scope,
    state: pending.state,
    code_challenge: await pkceChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ...(settings.resource ? { resource: settings.resource } : {}),
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  storage.setItem(pendingKey, JSON.stringify(pending));
  return url.href;
}

/** The issuer's answer in the address the browser came back to, if it is one. */
export function callbackFrom(search: string): URLSearchParams | null {
  const params = new URLSearchParams(search);
  return params.has('state') && (params.has('code') || params.has('error')) ? params : null;
}

/**
 * Redeems the code at the token endpoint with the PKCE verifier and answers the access token and the screen
 * to go back to. Refuses an answer whose state this tab did not send, an error from the issuer, and an
 * access token that is not a JWT (the gateway verifies JWTs only).
 */
export async function finishSignIn(
  answer: URLSearchParams,
  settings: OidcSettings,
  storage: Storage = sessionStorage,
  fetchFn: typeof fetch = fetch,
): Promise<{ token: string; returnTo: string }> {
  const saved = storage.getItem(pendingKey);
  storage.removeItem(pendingKey);
  const pending = saved ? (JSON.parse(saved) as Pending) : null;
  if (!pending || pending.state !== answer.get('state')) {
    throw new Error('This sign-in answer was not asked for in this tab: sign in again');
  }
  const refused = answer.get('error');
  if (refused) {
    const why = answer.get('error_description');
    throw new Error(`The issuer did not sign you in: ${refused}${why ? ` (${why})` : ''}`);
  }
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: answer.get('code') ?? '',
    redirect_uri: pending.redirectUri,
    client_id: settings.client_id,
    code_verifier: pending.verifier,
    ...(settings.resource ? { resource: settings.resource } : {}),
  });
  let response: Response;
  try {
    response = await fetchFn(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    });
  } catch (error) {
    throw new Error(`Cannot reach the issuer's token endpoint ${pending.tokenEndpoint}`, { cause: error });
  }
  const tokens = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const why = [tokens.error, tokens.error_description].filter(Boolean).join(': ');
    throw new Error(`The issuer's token endpoint answered ${response.status}${why ? ` (${why})` : ''}`);
  }
  const token = tokens.access_token;
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new Error(
      'The issuer answered an access token that is not a JWT; the gateway verifies JWTs only (give the client JWT access tokens for this API, or set CONSOLE_OIDC_RESOURCE)',
    );
  }
  return { token, returnTo: pending.returnTo };
}
