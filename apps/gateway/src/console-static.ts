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
 * only; it leaves out helmet's upgrade-insecure-requests, which would send a plain-HTTP local stack's
 * assets to an HTTPS port that does not exist.
 */
export function consoleStatic(dir: string): Router {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(
      `CONSOLE_DIR ${dir} has no index.html: build the console (pnpm --filter @rag/console build)`,
    );
  }
  const router = express.Router();
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
          connectSrc: ["'self'"],
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
