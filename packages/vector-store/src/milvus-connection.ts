import { AppError } from '@rag/contracts/app-error';
import { type ClientConfig, MilvusClient } from '@zilliz/milvus2-sdk-node';
import { milvusCall } from './milvus-call.js';

/**
 * The SDK client of one store and the calls it makes on its collection: how the client is set up (its pool and
 * pings), and calls that load the collection again when Milvus has released it.
 */

export interface MilvusConnectionOptions {
  /** `host:port` of the Milvus gRPC endpoint. */
  address: string;
  token?: string | undefined;
  database?: string | undefined;
  /** Per-request deadline for SDK calls. */
  timeoutMs?: number;
}

export const defaultMilvusTimeoutMs = 30_000;
/** SDK clients (calls in flight) per store; see clientConfig. */
const maxConcurrentCalls = 128;

export interface MilvusConnection {
  client: MilvusClient;
  /** What errors name: the collection. */
  context: { collection: string };
  call<T extends object>(operation: string, request: () => Promise<T>): Promise<T>;
}

export function connectMilvus(options: MilvusConnectionOptions, collectionName: string): MilvusConnection {
  const client = new MilvusClient(clientConfig(options));
  const context = { collection: collectionName };
  let reloading: Promise<void> | undefined;

  /**
   * Runs one SDK call; when Milvus answers that the collection is not loaded (a restarted Milvus Lite
   * forgets what was loaded), loads it and tries once more, so searches recover without a service restart.
   */
  async function call<T extends object>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await milvusCall(operation, request, { context });
    } catch (error) {
      if (!(error instanceof AppError) || !isNotLoaded(error.message)) throw error;
      // Concurrent calls that all hit the released collection share one load.
      reloading ??= milvusCall(
        'loadCollection',
        () => client.loadCollection({ collection_name: collectionName }),
        { context },
      )
        .then(() => undefined)
        .finally(() => {
          reloading = undefined;
        });
      await reloading;
      return milvusCall(operation, request, { context });
    }
  }

  return { client, context, call };
}

/** Milvus's answer to a search or query on a collection that is not (or no longer) loaded. */
export function isNotLoaded(message: string): boolean {
  return /not loaded|state '?released'?|call load\(\)/i.test(message);
}

function clientConfig(options: MilvusConnectionOptions): ClientConfig {
  const config: ClientConfig = {
    address: options.address,
    timeout: options.timeoutMs ?? defaultMilvusTimeoutMs,
    logLevel: 'error',
    // The SDK runs each call on a client from a pool (its default: at most 10), and a call finding none free
    // waits in the process for one. Those clients share one HTTP/2 connection, so the limit only decides
    // where calls queue: with 10, every call beyond the tenth queued here, in front of its own turn at Milvus,
    // and a second process on the same Milvus (another replica, the worker) got half of Milvus whatever its
    // share of the calls (at 32 concurrent searches the service's Milvus time was 1.3 times that of the
    // same calls from a second client). Let Milvus see every call in flight: it orders them, and a Milvus
    // server runs them side by side.
    pool: { min: 1, max: maxConcurrentCalls },
    // The SDK pings every 10 s, idle or not; servers with gRPC's default ping policy (Milvus Lite: no more
    // than one ping per 5 min without calls) answer "too many pings" and the channel logs an error. Pinging
    // only while calls are open, once a minute, still finds a dead peer under a hung call.
    channelOptions: { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_permit_without_calls': 0 },
  };
  if (options.token !== undefined) config.token = options.token;
  if (options.database !== undefined) config.database = options.database;
  return config;
}
