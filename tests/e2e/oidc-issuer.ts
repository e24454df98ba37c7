import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

/**
 * A real OpenID provider (the `oidc-provider` package, certified OpenID Connect) on a free local port, for
 * the console's sign-in: it publishes its discovery document and JWKS, runs its own login and consent
 * pages (any login name, any password), and issues RS256 JWT access tokens for the resource the console
 * names, carrying the tenant and role claims the gateway maps to a principal, with refresh tokens.
 */
export interface OidcIssuer {
  issuer: string;
  jwksUrl: string;
  clientId: string;
  /** The resource indicator of the gateway's API, and the audience of the tokens issued for it. */
  resource: string;
  audience: string;
  /** Registers the console's redirect address (known once the gateway listens); starts answering. */
  registerConsole(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

export async function startOidcIssuer(
  claims: { tenant: string; roles: string[] },
  options: { accessTokenTtl?: number } = {},
): Promise<OidcIssuer> {
  const accessTokenTtl = options.accessTokenTtl ?? 600;
  let handler: ((req: never, res: never) => void) | null = null;
  const server: Server = createServer((req, res) => {
    if (handler) return handler(req as never, res as never);
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'rag-console';
  const resource = 'https://rag.example/v1';
  const audience = 'rag-gateway';

  async function registerConsole(redirectUri: string) {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'console-test', alg: 'RS256', use: 'sig' };
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          // A public client: the page holds no secret, PKCE binds the code to the page that asked.
          token_endpoint_auth_method: 'none',
          application_type: 'web',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      pkce: { required: () => true },
      ttl: {
        Session: 3600,
        Grant: 3600,
        Interaction: 600,
        AccessToken: accessTokenTtl,
        RefreshToken: 3600,
        IdToken: 600,
        AuthorizationCode: 60,
      },
      // The token endpoint answers the console's page (CORS) because the page is the client's redirect origin.
      clientBasedCORS: (_ctx, origin, client) =>
        (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin),
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
      features: {
        devInteractions: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, indicator) => {
            if (indicator !== resource) throw new errors.InvalidTarget();
            return {
              scope: 'openid',
              audience,
              accessTokenTTL: accessTokenTtl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
      extraTokenClaims: async () => ({ tenant: claims.tenant, roles: claims.roles }),
      // Refresh tokens for the public client without asking for offline_access, as Keycloak, Entra ID and
      // Okta give single-page apps; a public client's refresh token is rotated at each use.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    });
    handler = provider.callback() as never;
  }

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    clientId,
    resource,
    audience,
    registerConsole,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
