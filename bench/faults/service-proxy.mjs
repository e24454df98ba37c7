// The stable address of one service, as a Kubernetes Service gives a Deployment: a TCP proxy whose backend
// the harness switches when it replaces the process. Connections already open stay with the process they
// reached (as conntrack keeps them); with no backend a new connection is closed at once (no endpoints).
import { connect, createServer } from 'node:net';

export async function startServiceProxy(port) {
  let backend = null;
  let refused = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    if (backend === null) {
      refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: backend });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    // A reset on either side resets the other, so callers see what they would see talking directly.
    upstream.once('error', () => client.resetAndDestroy());
    client.once('error', () => upstream.resetAndDestroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    /** Where new connections go; null closes them (the service has no ready process). */
    route(backendPort) {
      backend = backendPort;
    },
    /** Connections closed for want of a backend since the last call. */
    takeRefused() {
      const count = refused;
      refused = 0;
      return count;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
