import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { beginSignIn, callbackFrom, finishSignIn, type OidcSettings, pkceChallenge } from './oidc.js';

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
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url === `${settings.issuer}/.well-known/openid-configuration`) {
      return Response.json({
        issuer: discoveredIssuer,
        authorization_endpoint: `${settings.issuer}/auth`,
        token_endpoint: tokenEndpoint,
      });
    }
    if (url === `${settings.issuer}/token` && init?.method === 'POST') {
      sent.push(new URLSearchParams(String(init.body)));
      return Response.json(tokenAnswer.body, { status: tokenAnswer.status });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  return { fetchFn, sent };
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
