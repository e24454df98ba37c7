import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { RouteDispatcher } from './mcp-endpoint.js';

/** Headers of the MCP request that a route call carries on: who is calling, and the trace it belongs to. */
const forwarded = ['authorization', 'traceparent', 'tracestate'] as const;
const internalHeader = 'x-rag-mcp-call';

export interface RouteDispatch {
  dispatch: RouteDispatcher;
  /**
   * Wraps the per-address limiter so that it lets a route call through: the MCP request that made it has
   * already been counted for its address. The per-credential limit still counts every call.
   */
  exemptFromAddressLimit(limiter: RequestHandler): RequestHandler;
}

/**
 * Route calls sent over loopback to the very listener that took the MCP request, so they meet the whole
 * stack a REST request meets (authentication, rate limit per credential, the route table's role, scope,
 * ACLs, audit, problem+json), with the MCP request's credential and a request id derived from its own.
 * Injecting into the Express app instead would change its shared prototypes under the live server.
 */
export function createRouteDispatch(): RouteDispatch {
  // Known to this process only: a client cannot claim to be a route call.
  const marker = randomBytes(32).toString('hex');
  const isRouteCall = (req: Request) => {
    const value = req.get(internalHeader);
    return (
      value !== undefined &&
      value.length === marker.length &&
      timingSafeEqual(Buffer.from(value), Buffer.from(marker))
    );
  };
  let sequence = 0;
  return {
    exemptFromAddressLimit: (limiter) => (req, res, next) =>
      isRouteCall(req) ? next() : limiter(req, res, next),
    async dispatch(call, from) {
      const headers: Record<string, string> = {
        [internalHeader]: marker,
        'x-request-id': `${from.id}.${++sequence}`,
        accept: 'application/json',
      };
      for (const name of forwarded) {
        const value = from.get(name);
        if (value) headers[name] = value;
      }
      if (call.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${listenerUrl(from)}${call.path}`, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { detail: text.slice(0, 300) };
      }
      return { status: response.status, body };
    },
  };
}

/** The address and port the MCP request came in on: certainly this process, whatever HOST is. */
function listenerUrl(req: Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${req.socket.localPort}`;
}
