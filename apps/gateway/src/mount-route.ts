import { type Principal, requireRole, requireSystem } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import type { Request, RequestHandler, Response, Router } from 'express';
import { principalOf } from './principal-middleware.js';
import { publicRoutes } from './route-table.js';

type Method = (typeof publicRoutes)[number]['method'];
type RoutePath = (typeof publicRoutes)[number]['path'];

export type GuardedHandler = (req: Request, res: Response, principal: Principal) => Promise<void> | void;

/**
 * Registers a handler for a route of the table, behind the role the table names. A route missing from the
 * table does not type-check, so no route can go undocumented or unguarded.
 */
export function mountRoute(
  router: Router,
  method: Method,
  path: RoutePath,
  ...handlers: [...RequestHandler[], GuardedHandler]
): void {
  const description = publicRoutes.find((r) => r.method === method && r.path === path);
  if (!description) throw new Error(`${method.toUpperCase()} ${path} is not in the route table`);
  const guard: RequestHandler = (req, _res, next) => {
    const principal = principalOf(req);
    if (description.role === 'bootstrap admin') requireSystem(principal);
    else requireRole(principal, description.role);
    next();
  };
  const handler = handlers.pop() as GuardedHandler;
  const middleware = handlers as RequestHandler[];
  const expressPath = path.replace(/\{(\w+)\}/g, ':$1');
  router[method](expressPath, guard, ...middleware, async (req, res) => {
    await handler(req, res, principalOf(req));
  });
}

/** A path parameter as a string (Express 5 types them loosely). */
export function pathParam(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new AppError('bad_request', `Missing path parameter ${name}`);
  return value;
}
