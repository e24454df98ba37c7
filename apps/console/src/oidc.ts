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
  revocationEndpoint?: string;
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
): Promise<{ authorization_endpoint: string; token_endpoint: string; revocation_endpoint?: string }> {
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
  // Revoking the refresh token at sign-out is done where the page may connect: on the issuer's origin only.
  const revocation = document.revocation_endpoint;
  const revocable = typeof revocation === 'string' && new URL(revocation).origin === new URL(issuer).origin;
  return {
    authorization_endpoint,
    token_endpoint,
    ...(revocable ? { revocation_endpoint: revocation } : {}),
  };
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
    ...(endpoints.revocation_endpoint ? { revocationEndpoint: endpoints.revocation_endpoint } : {}),
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
): Promise<{ token: string; returnTo: string; session: IssuerSession | null }> {
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
  const tokens = await redeem(pending.tokenEndpoint, body, fetchFn);
  return {
    token: tokens.accessToken,
    returnTo: pending.returnTo,
    session: issuerSession(pending, tokens),
  };
}

/**
 * What keeps a sign-in at the issuer alive past its access token's lifetime: the refresh token the issuer gave
 * (when it gives one to this client) and when the access token expires. Kept in this tab's session storage,
 * beside the access token; sign-out forgets both.
 */
export interface IssuerSession {
  tokenEndpoint: string;
  /** RFC 7009, where the issuer has one: sign-out revokes the refresh token there. */
  revocationEndpoint?: string;
  refreshToken: string;
  /** When the access token expires, in ms since the epoch. */
  expiresAt: number;
  /** How long the access token was given for, in ms: the refresh comes a part of it before its end. */
  lifetimeMs: number;
}

const sessionKey = 'rag-console.oidc-session';

export function storedIssuerSession(storage: Storage = sessionStorage): IssuerSession | null {
  const saved = storage.getItem(sessionKey);
  return saved ? (JSON.parse(saved) as IssuerSession) : null;
}

export function storeIssuerSession(session: IssuerSession | null, storage: Storage = sessionStorage): void {
  if (session) storage.setItem(sessionKey, JSON.stringify(session));
  else storage.removeItem(sessionKey);
}

/**
 * When to ask for the next access token: a quarter of its lifetime before it ends, and never later than a
 * minute before, so a slow issuer or a tab the browser throttled still renews in time.
 */
export function refreshDueAt(session: IssuerSession): number {
  return session.expiresAt - Math.min(60_000, session.lifetimeMs / 4);
}

/** The issuer refused the refresh token (expired, revoked, session ended): only a new sign-in helps. */
export class SessionEnded extends Error {}

/**
 * A new access token for the refresh token (RFC 6749 §6), with the resource again so it is issued for this API.
 * The issuer may rotate the refresh token; the answer carries whichever is current. A refusal (400/401) is
 * SessionEnded; anything else (no network, a 5xx) may be tried again.
 */
export async function refreshSignIn(
  session: IssuerSession,
  settings: OidcSettings,
  fetchFn: typeof fetch = fetch,
): Promise<{ token: string; session: IssuerSession }> {
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: session.refreshToken,
    client_id: settings.client_id,
    ...(settings.resource ? { resource: settings.resource } : {}),
  });
  const tokens = await redeem(session.tokenEndpoint, body, fetchFn);
  const next = issuerSession(session, tokens, session.refreshToken);
  if (!next) throw new SessionEnded("The issuer's new access token carries no lifetime; sign in again");
  return { token: tokens.accessToken, session: next };
}

interface IssuedTokens {
  accessToken: string;
  refreshToken?: string;
  expiresInMs?: number;
}

/** One request to the token endpoint; its answer must hold a JWT access token (the gateway verifies JWTs only). */
async function redeem(
  tokenEndpoint: string,
  body: URLSearchParams,
  fetchFn: typeof fetch,
): Promise<IssuedTokens> {
  let response: Response;
  try {
    response = await fetchFn(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    });
  } catch (error) {
    throw new Error(`Cannot reach the issuer's token endpoint ${tokenEndpoint}`, { cause: error });
  }
  const tokens = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const why = [tokens.error, tokens.error_description].filter(Boolean).join(': ');
    const message = `The issuer's token endpoint answered ${response.status}${why ? ` (${why})` : ''}`;
    throw response.status === 400 || response.status === 401 ? new SessionEnded(message) : new Error(message);
  }
  const token = tokens.access_token;
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new Error(
      'The issuer answered an access token that is not a JWT; the gateway verifies JWTs only (give the client JWT access tokens for this API, or set CONSOLE_OIDC_RESOURCE)',
    );
  }
  return {
    accessToken: token,
    ...(typeof tokens.refresh_token === 'string' ? { refreshToken: tokens.refresh_token } : {}),
    ...(typeof tokens.expires_in === 'number' ? { expiresInMs: tokens.expires_in * 1000 } : {}),
  };
}

/**
 * The session to keep after a token answer: none without a refresh token (the sign-in then lasts as long as
 * its access token). The lifetime is the answer's expires_in, else the token's own exp claim.
 */
function issuerSession(
  endpoints: { tokenEndpoint: string; revocationEndpoint?: string },
  tokens: IssuedTokens,
  previousRefreshToken?: string,
): IssuerSession | null {
  const refreshToken = tokens.refreshToken ?? previousRefreshToken;
  if (!refreshToken) return null;
  const lifetimeMs = tokens.expiresInMs ?? jwtLifetimeMs(tokens.accessToken);
  if (lifetimeMs === null) return null;
  return {
    tokenEndpoint: endpoints.tokenEndpoint,
    ...(endpoints.revocationEndpoint ? { revocationEndpoint: endpoints.revocationEndpoint } : {}),
    refreshToken,
    expiresAt: Date.now() + lifetimeMs,
    lifetimeMs,
  };
}

/**
 * At sign-out: revokes the refresh token at the issuer (RFC 7009), so a copy of it is worth nothing from then
 * on. Best effort: the tab has forgotten it already, and an issuer without the endpoint lets it expire.
 */
export async function revokeRefreshToken(
  session: IssuerSession,
  settings: OidcSettings,
  fetchFn: typeof fetch = fetch,
): Promise<void> {
  if (!session.revocationEndpoint) return;
  await fetchFn(session.revocationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token: session.refreshToken,
      token_type_hint: 'refresh_token',
      client_id: settings.client_id,
    }),
  }).catch(() => {});
}

function jwtLifetimeMs(token: string): number | null {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 - Date.now() : null;
  } catch {
    return null;
  }
}
