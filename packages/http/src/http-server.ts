import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Express } from 'express';

export async function listen(app: Express, host: string, port: number): Promise<Server> {
  const server = app.listen(port, host);
  await once(server, 'listening');
  // Keep-alive longer than a typical load balancer's idle timeout avoids races on reused connections.
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Stops accepting connections, lets in-flight requests finish, then cuts whatever is still open. */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
