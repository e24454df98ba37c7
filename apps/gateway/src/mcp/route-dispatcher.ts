import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { RouteDispatcher } from './mcp-endpoint.js';

/** Headers of the MCP request that a route call carries on: the trace it belongs to, and the credential. */
const forwarded = ['authorization', 'traceparent', 'tracestate'] as const;

/**
 * Marks a request this process built for a route call. A symbol set on an object made in memory: nothing a
 * client sends over the network can carry it.
 */
const routeCallMark = Symbol('rag.mcp.routeCall');

export interface RouteDispatch {
  dispatch: RouteDispatcher;
  /**
   * Skips `handler` for route calls: what the MCP request that made them has already done for them, once
   * (the epoch scope of the request cache, the per-address limit, authentication: a route call carries the
   * principal verified for that request). Everything after authentication runs for every route call.
   */
  unlessRouteCall(handler: RequestHandler): RequestHandler;
}

export function isRouteCall(req: Request): boolean {
  return (req as unknown as Record<symbol, unknown>)[routeCallMark] === true;
}

/**
 * Route calls handled in this process by the gateway's own Express app, as requests built in memory: they go
 * down the whole stack a REST request goes down (the per-credential rate limit, the route table's role,
 * collection scope, document ACLs, audit, problem+json, access log and metrics), with the principal the MCP
 * request was authenticated as and a request id derived from its own. No socket, no HTTP parsing, no second
 * verification of the credential.
 */
export function createRouteDispatch(app: Express): RouteDispatch {
  let sequence = 0;
  return {
    unlessRouteCall: (handler) => (req, res, next) => (isRouteCall(req) ? next() : handler(req, res, next)),
    dispatch: (call, from) =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = {
          host: from.get('host') ?? 'localhost',
          'x-request-id': `${from.id}.${++sequence}`,
          accept: 'application/json',
        };
        for (const name of forwarded) {
          const value = from.get(name);
          if (value) headers[name] = value;
        }
        const body = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
        if (body) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = String(body.length);
        }
        const req = new IncomingMessage(peerOf(from));
        req.method = call.method;
        req.url = call.path;
        req.httpVersion = '1.1';
        req.httpVersionMajor = 1;
        req.httpVersionMinor = 1;
        req.headers = headers;
        req.rawHeaders = Object.entries(headers).flat();
        if (body) req.push(body);
        req.push(null);
        Object.assign(req, { principal: from.principal, [routeCallMark]: true });

        const res = new ServerResponse(req);
        const chunks: Buffer[] = [];
        const collect = (chunk: unknown, encoding: unknown) => {
          if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
          chunks.push(
            Buffer.isBuffer(chunk)
              ? chunk
              : Buffer.from(
                  chunk as string,
                  typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
                ),
          );
        };
        let ended = false;
        res.write = ((chunk: unknown, encoding?: unknown) => {
          collect(chunk, encoding);
          return true;
        }) as typeof res.write;
        res.end = ((chunk?: unknown, encoding?: unknown) => {
          if (ended) return res;
          ended = true;
          collect(chunk, encoding);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { detail: text.slice(0, 300) };
          }
          resolve({ status: res.statusCode, body: parsed });
          // What a finished response tells its listeners: the access log, metrics, in-flight gauge.
          res.emit('finish');
          res.emit('close');
          return res;
        }) as typeof res.end;
        // Express makes them its own request and response, as it does for its HTTP server's.
        app(req as Request, res as unknown as Response, (error?: unknown) => {
          if (!ended) reject(error ?? new Error(`${call.method} ${call.path} was not answered`));
        });
      }),
  };
}

/**
 * The socket a route call's request reports: the MCP request's peer and local addresses (so the access log
 * and anything that asks see the real client), with no connection behind it.
 */
function peerOf(from: Request): Socket {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  return Object.assign(socket, {
    remoteAddress: from.socket.remoteAddress,
    remotePort: from.socket.remotePort,
    remoteFamily: from.socket.remoteFamily,
    localAddress: from.socket.localAddress,
    localPort: from.socket.localPort,
    encrypted: (from.socket as { encrypted?: boolean }).encrypted ?? false,
  }) as unknown as Socket;
}
