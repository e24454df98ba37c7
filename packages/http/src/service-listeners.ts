import type { Server } from 'node:http';
import { AppError } from '@rag/contracts/app-error';
import { closeServer, listen } from './http-server.js';
import type { ServiceApp } from './service-app.js';

export interface ListenOptions {
  host: string;
  port: number;
  /** The management port; PORT + 1000 when unset (9080 for a service on 8080), a free one when PORT is 0. */
  managementPort?: number | undefined;
}

export interface ServiceListeners {
  server: Server;
  management: Server;
  /** The ports actually bound (differ from the options when those asked for 0). */
  port: number;
  managementPort: number;
}

/** PORT + 1000 unless MANAGEMENT_PORT says otherwise; the two must differ. */
export function managementPortFor(options: ListenOptions): number {
  const port = options.managementPort ?? (options.port === 0 ? 0 : options.port + 1000);
  if (port > 65535) {
    throw new AppError(
      'bad_request',
      `The management port would be PORT + 1000 = ${port}, beyond 65535: set MANAGEMENT_PORT`,
    );
  }
  if (port !== 0 && port === options.port) {
    throw new AppError('bad_request', `MANAGEMENT_PORT and PORT are both ${port}: give them different ports`);
  }
  return port;
}

/** Starts the public and the management listener on the same host. */
export async function listenService(
  service: Pick<ServiceApp, 'app' | 'management'>,
  options: ListenOptions,
): Promise<ServiceListeners> {
  const managementPort = managementPortFor(options);
  const server = await listen(service.app, options.host, options.port);
  try {
    const management = await listen(service.management, options.host, managementPort);
    return { server, management, port: portOf(server), managementPort: portOf(management) };
  } catch (error) {
    await closeServer(server, 0);
    throw error;
  }
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
