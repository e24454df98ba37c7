import { AppError } from '@rag/contracts/app-error';
import type { RequestHandler } from 'express';

/**
 * Mounted after every route: a request that reached it on a known path used a method the path does not
 * serve, so it answers 405 with the methods it does serve in `Allow` (RFC 9110) instead of a 404 that would
 * say the resource does not exist. HEAD comes with every GET (Express serves it) and OPTIONS with every path
 * (CORS preflight).
 */
export function methodNotAllowed(routes: readonly { method: string; path: string }[]): RequestHandler {
  const byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const route of routes) {
    const entry = byPath.get(route.path) ?? {
      pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}/?$`),
      methods: new Set<string>(),
    };
    entry.methods.add(route.method.toUpperCase());
    if (route.method === 'get') entry.methods.add('HEAD');
    entry.methods.add('OPTIONS');
    byPath.set(route.path, entry);
  }
  const paths = [...byPath.values()];
  return (req, res, next) => {
    const known = paths.find((p) => p.pattern.test(req.path));
    if (!known || known.methods.has(req.method)) {
      next();
      return;
    }
    const allow = [...known.methods].join(', ');
    res.setHeader('allow', allow);
    next(new AppError('method_not_allowed', `${req.method} is not served on ${req.path}; use ${allow}`));
  };
}
