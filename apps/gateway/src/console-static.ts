import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';
import helmet from 'helmet';

/** Where the web console is served; the API it calls is the public one on the same origin. */
export const consolePath = '/console';

/**
 * Serves the built web console (apps/console/dist) as static files. It talks to the public API only, on the
 * same origin, so CORS stays closed. Hashed assets are cached for good; index.html never is, so a new
 * build is picked up on the next visit. The policy allows scripts, styles and connections to this origin
 * only (and to the OpenID issuer's, when the console signs in there); it leaves out helmet's upgrade-insecure-requests, which would send a plain-HTTP local stack's
 * assets to an HTTPS port that does not exist.
 */
/** What the console needs to sign in at the configured issuer (served as /console/config.json). */
export interface ConsoleSignIn {
  issuer: string;
  clientId: string;
  scope: string;
  resource?: string | undefined;
}

export function consoleStatic(dir: string, signIn?: ConsoleSignIn): Router {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(
      `CONSOLE_DIR ${dir} has no index.html: build the console (pnpm --filter @rag/console build)`,
    );
  }
  const router = express.Router();
  // The sign-in page asks what it can offer: an API key or JWT pasted, and the issuer's sign-in when set.
  const config = {
    oidc: signIn
      ? {
          issuer: signIn.issuer,
          client_id: signIn.clientId,
          scope: signIn.scope,
          ...(signIn.resource ? { resource: signIn.resource } : {}),
        }
      : null,
  };
  router.get(`${consolePath}/config.json`, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(config);
  });
  router.use(
    consolePath,
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          // With a sign-in at the issuer, the page reads its discovery document and redeems the code there.
          connectSrc: ["'self'", ...(signIn ? [new URL(signIn.issuer).origin] : [])],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
        },
      },
      // The console keeps the API key in sessionStorage; no page of it is ever framed or sends a referrer.
      referrerPolicy: { policy: 'no-referrer' },
    }),
    express.static(dir, {
      index: 'index.html',
      setHeaders(res, path) {
        res.setHeader(
          'Cache-Control',
          path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    }),
  );
  return router;
}
