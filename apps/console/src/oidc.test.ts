import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  beginSignIn,
  callbackFrom,
  finishSignIn,
  type IssuerSession,
  type OidcSettings,
  pkceChallenge,
  refreshDueAt,
  refreshSignIn,
  revokeRefreshToken,
  SessionEnded,
} from './oidc.js';

/**
 * The flow's own rules, with the issuer's two endpoints answered here; the whole flow against a real
 * OpenID provider runs in the browser test (tests/e2e/console-browser.e2e.test.ts).
 */
class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

const settings: OidcSettings = {
  issuer: 'https://id.example.com/realms/rag',
  client_id: 'rag-console',
  scope: 'openid',
  resource: 'https://rag.example.com/v1',
};
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';

/** The issuer: its discovery document, and a token endpoint that records what it was sent. */
function issuer(
  tokenAnswer: { status: number; body: unknown },
  discoveredIssuer = settings.issuer,
  tokenEndpoint = `${settings.issuer}/token`,
) {
  const sent: URLSearchParams[] = [];
  const revoked: URLSearchParams[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url === `${settings.issuer}/.well-known/openid-configuration`) {
      return Response.json({
        issuer: discoveredIssuer,
        authorization_endpoint: `${settings.issuer}/auth`,
        token_endpoint: tokenEndpoint,
        revocation_endpoint: `${settings.issuer}/revoke`,
      });
    }
    if (url === `${settings.issuer}/revoke` && init?.method === 'POST') {
      revoked.push(new URLSearchParams(String(init.body)));
      return new Response(null, { status: 200 });
    }
    if (url === `${settings.issuer}/token` && init?.method === 'POST') {
      sent.push(new URLSearchParams(String(init.body)));
      return Response.json(tokenAnswer.body, { status: tokenAnswer.status });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  return { fetchFn, sent, revoked };
}

async function begin(fetchFn: typeof fetch, storage: Storage) {
  const url = new URL(
    await beginSignIn(settings, 'https://rag.example.com/console/', '#/search', storage, fetchFn),
  );
  return url.searchParams;
}

describe('sign-in at the issuer', () => {
  it('sends the code, PKCE challenge and resource, and redeems the code with the matching verifier', async () => {
    const storage = new MemoryStorage();
    const { fetchFn, sent } = issuer({ status: 200, body: { access_token: jwt, token_type: 'Bearer' } });
    const asked = await begin(fetchFn, storage);
    expect(Object.fromEntries(asked)).toMatchObject({
      response_type: 'code',
      client_id: 'rag-console',
      redirect_uri: 'https://rag.example.com/console/',
      scope: 'openid',
      code_challenge_method: 'S256',
      resource: 'https://rag.example.com/v1',
    });
    const answer = callbackFrom(`?code=abc&state=${asked.get('state')}`);
    expect(answer).not.toBeNull();
    await expect(finishSignIn(answer!, settings, storage, fetchFn)).resolves.toEqual({
      token: jwt,
      returnTo: '#/search',
      // No refresh token: the sign-in lasts as long as its access token.
      session: null,
    });
    const redeemed = sent[0]!;
    expect(redeemed.get('grant_type')).toBe('authorization_code');
    expect(redeemed.get('code')).toBe('abc');
    expect(redeemed.get('redirect_uri')).toBe('https://rag.example.com/console/');
    expect(await pkceChallenge(redeemed.get('code_verifier')!)).toBe(asked.get('code_challenge'));
    // RFC 7636 appendix B.
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXFRDjE04')).toBe(
      createHash('sha256').update('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXFRDjE04').digest('base64url'),
    );
    // What waited for the answer is gone.
    expect(storage.length).toBe(0);
  });

  it('refuses an answer with a state this tab did not send, and an answer read twice', async () => {
    const storage = new MemoryStorage();
    const { fetchFn, sent } = issuer({ status: 200, body: { access_token: jwt } });
    const asked = await begin(fetchFn, storage);
    await expect(
      finishSignIn(callbackFrom('?code=abc&state=forged')!, settings, storage, fetchFn),
    ).rejects.toThrow(/not asked for in this tab/);
    await expect(
      finishSignIn(callbackFrom(`?code=abc&state=${asked.get('state')}`)!, settings, storage, fetchFn),
    ).rejects.toThrow(/not asked for in this tab/);
    expect(sent).toHaveLength(0);
  });

  it("says why: the issuer's error, the token endpoint's error, an opaque token, a discovery for another issuer", async () => {
    const storage = new MemoryStorage();
    const refusing = issuer({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code expired' },
    });
    let state = (await begin(refusing.fetchFn, storage)).get('state');
    await expect(
      finishSignIn(
        callbackFrom(`?error=access_denied&error_description=no+consent&state=${state}`)!,
        settings,
        storage,
        refusing.fetchFn,
      ),
    ).rejects.toThrow('The issuer did not sign you in: access_denied (no consent)');
    state = (await begin(refusing.fetchFn, storage)).get('state');
    await expect(
      finishSignIn(callbackFrom(`?code=c&state=${state}`)!, settings, storage, refusing.fetchFn),
    ).rejects.toThrow('token endpoint answered 400 (invalid_grant: code expired)');
    const opaque = issuer({ status: 200, body: { access_token: 'opaque-token' } });
    state = (await begin(opaque.fetchFn, storage)).get('state');
    await expect(
      finishSignIn(callbackFrom(`?code=c&state=${state}`)!, settings, storage, opaque.fetchFn),
    ).rejects.toThrow(/not a JWT/);
    const elsewhere = issuer({ status: 200, body: {} }, 'https://evil.example.com');
    await expect(begin(elsewhere.fetchFn, storage)).rejects.toThrow(/names issuer https:\/\/evil/);
    const otherOrigin = issuer(
      { status: 200, body: {} },
      settings.issuer,
      'https://tokens.example.net/token',
    );
    await expect(begin(otherOrigin.fetchFn, storage)).rejects.toThrow(/not on the issuer's origin/);
    expect(callbackFrom('?collection=x')).toBeNull();
  });
});

/** A JWT whose payload holds `exp`; the gateway verifies the signature, the console only reads the lifetime. */
function jwtExpiringIn(seconds: number): string {
  const payload = Buffer.from(JSON.stringify({ sub: 'u', exp: Math.floor(Date.now() / 1000) + seconds }));
  return `eyJhbGciOiJSUzI1NiJ9.${payload.toString('base64url')}.c2ln`;
}

describe('keeping the sign-in past its access token', () => {
  async function signedIn(body: Record<string, unknown>) {
    const storage = new MemoryStorage();
    const { fetchFn } = issuer({ status: 200, body });
    const state = (await begin(fetchFn, storage)).get('state');
    return finishSignIn(callbackFrom(`?code=abc&state=${state}`)!, settings, storage, fetchFn);
  }

  it('keeps the refresh token and the lifetime from expires_in, else from the token itself', async () => {
    const before = Date.now();
    const { session } = await signedIn({ access_token: jwt, refresh_token: 'r1', expires_in: 300 });
    expect(session).toMatchObject({
      tokenEndpoint: `${settings.issuer}/token`,
      refreshToken: 'r1',
      lifetimeMs: 300_000,
    });
    expect(session!.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
    const fromExp = await signedIn({ access_token: jwtExpiringIn(120), refresh_token: 'r1' });
    expect(fromExp.session!.lifetimeMs).toBeGreaterThan(118_000);
    expect(fromExp.session!.lifetimeMs).toBeLessThanOrEqual(120_000);
  });

  it('is due a quarter of the lifetime before the end, and never later than a minute before', () => {
    const session = (lifetimeMs: number): IssuerSession => ({
      tokenEndpoint: 't',
      refreshToken: 'r',
      expiresAt: 1_000_000,
      lifetimeMs,
    });
    expect(refreshDueAt(session(20_000))).toBe(995_000);
    expect(refreshDueAt(session(3_600_000))).toBe(940_000);
  });

  it('renews with the refresh token and the resource, and keeps the rotated refresh token', async () => {
    const { session } = await signedIn({ access_token: jwt, refresh_token: 'r1', expires_in: 300 });
    const rotating = issuer({
      status: 200,
      body: { access_token: jwtExpiringIn(60), refresh_token: 'r2', expires_in: 60 },
    });
    const renewed = await refreshSignIn(session!, settings, rotating.fetchFn);
    expect(Object.fromEntries(rotating.sent[0]!)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'r1',
      client_id: 'rag-console',
      resource: 'https://rag.example.com/v1',
    });
    expect(renewed.session).toMatchObject({ refreshToken: 'r2', lifetimeMs: 60_000 });
    // An issuer that does not rotate: the refresh token in hand stays.
    const keeping = issuer({ status: 200, body: { access_token: jwt, expires_in: 60 } });
    expect((await refreshSignIn(renewed.session, settings, keeping.fetchFn)).session.refreshToken).toBe('r2');
  });

  it('ends the sign-in when the issuer refuses the refresh token, and may try again after any other failure', async () => {
    const { session } = await signedIn({ access_token: jwt, refresh_token: 'r1', expires_in: 300 });
    const refusing = issuer({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'grant revoked' },
    });
    const refused = refreshSignIn(session!, settings, refusing.fetchFn);
    await expect(refused).rejects.toBeInstanceOf(SessionEnded);
    await expect(refused).rejects.toThrow('answered 400 (invalid_grant: grant revoked)');
    const failing = issuer({ status: 503, body: {} });
    const failed = refreshSignIn(session!, settings, failing.fetchFn);
    await expect(failed).rejects.toThrow('answered 503');
    await expect(failed).rejects.not.toBeInstanceOf(SessionEnded);
  });
});

describe('signing out', () => {
  it("revokes the refresh token at the issuer's revocation endpoint", async () => {
    const storage = new MemoryStorage();
    const { fetchFn, revoked } = issuer({
      status: 200,
      body: { access_token: jwt, refresh_token: 'r1', expires_in: 60 },
    });
    const state = (await begin(fetchFn, storage)).get('state');
    const { session } = await finishSignIn(
      callbackFrom(`?code=abc&state=${state}`)!,
      settings,
      storage,
      fetchFn,
    );
    expect(session!.revocationEndpoint).toBe(`${settings.issuer}/revoke`);
    await revokeRefreshToken(session!, settings, fetchFn);
    expect(revoked.map((body) => Object.fromEntries(body))).toEqual([
      { token: 'r1', token_type_hint: 'refresh_token', client_id: 'rag-console' },
    ]);
  });
});
