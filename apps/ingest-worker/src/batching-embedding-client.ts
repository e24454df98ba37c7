import type { EmbedRequest, EmbedResponse } from '@rag/contracts/embedding-api';
import type { EmbeddingClient, TokenizeRequest } from '@rag/service-clients/embedding-client';

/**
 * An EmbeddingClient that merges the calls of concurrent jobs into one request. Most documents are a chunk
 * or two, and a request of one text costs the embedding service nearly as much as a request of dozens, so
 * without this the pipeline would be bound by request overhead rather than by the model. Calls are grouped
 * only with calls of identical options. While fewer than `maxInFlight` requests of a kind are under way, a
 * call waits at most `maxWaitMs` for company; once that many are, calls gather until one comes back (or
 * `maxTexts` are waiting), so jobs that finish chunking one by one still reach the model in batches: the
 * model spends fewer CPU seconds per text on a batch than on texts one at a time.
 */
export function createBatchingEmbeddingClient(
  client: EmbeddingClient,
  options: { maxTexts: number; maxWaitMs: number; maxInFlight?: number },
): EmbeddingClient {
  const embedBatcher = createBatcher<EmbedRequest, EmbedResponse>(
    (request) => JSON.stringify([request.kind, request.outputs, request.truncate]),
    async (requests) => {
      const first = requests[0]!;
      const answer = await client.embed({ ...first, texts: requests.flatMap((r) => r.texts) });
      return split(
        requests,
        (r) => r.texts.length,
        (from, to) => ({ ...answer, data: answer.data.slice(from, to) }),
      );
    },
    options,
  );
  const tokenizeBatcher = createBatcher<TokenizeRequest, Awaited<ReturnType<EmbeddingClient['tokenize']>>>(
    (request) => JSON.stringify([request.addSpecialTokens, request.offsets, request.truncate]),
    async (requests) => {
      const first = requests[0]!;
      const answer = await client.tokenize({ ...first, inputs: requests.flatMap((r) => r.inputs) });
      return split(
        requests,
        (r) => r.inputs.length,
        (from, to) => ({ ...answer, data: answer.data.slice(from, to) }),
      );
    },
    options,
  );
  return {
    embed: (request) => embedBatcher(request, request.texts.length),
    tokenize: (request) => tokenizeBatcher(request, request.inputs.length),
    modelInfo: () => client.modelInfo(),
  };
}

function split<R, O>(
  requests: R[],
  size: (request: R) => number,
  slice: (from: number, to: number) => O,
): O[] {
  let offset = 0;
  return requests.map((request) => {
    const from = offset;
    offset += size(request);
    return slice(from, offset);
  });
}

interface Waiting<I, O> {
  request: I;
  size: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects calls with the same key until `maxTexts` texts, or `maxWaitMs` while fewer than `maxInFlight`
 * batches are running (else until one of them is done), then runs them as one.
 */
function createBatcher<I, O>(
  keyOf: (request: I) => string,
  run: (requests: I[]) => Promise<O[]>,
  options: { maxTexts: number; maxWaitMs: number; maxInFlight?: number },
): (request: I, size: number) => Promise<O> {
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  const open = new Map<
    string,
    { items: Waiting<I, O>[]; texts: number; timer: NodeJS.Timeout | undefined }
  >();
  let inFlight = 0;

  function flush(key: string): void {
    const batch = open.get(key);
    if (!batch) return;
    open.delete(key);
    clearTimeout(batch.timer);
    inFlight++;
    run(batch.items.map((item) => item.request))
      .then(
        (results) => {
          for (const [index, item] of batch.items.entries()) item.resolve(results[index]!);
        },
        (error: unknown) => {
          for (const item of batch.items) item.reject(error);
        },
      )
      .finally(() => {
        inFlight--;
        // A slot is free: the batch that gathered meanwhile goes now (the oldest first).
        const [waiting] = [...open.entries()].find(([, b]) => b.timer === undefined) ?? [];
        if (waiting !== undefined) flush(waiting);
      });
  }

  return (request, size) =>
    new Promise<O>((resolve, reject) => {
      const key = keyOf(request);
      // A call that would overflow the open batch sends that one first; a big call goes on its own.
      const current = open.get(key);
      if (current && current.texts + size > options.maxTexts) flush(key);
      let batch = open.get(key);
      if (!batch) {
        batch = { items: [], texts: 0, timer: undefined };
        // With every slot taken the batch waits for a request to come back instead of a timer.
        if (inFlight < maxInFlight) batch.timer = setTimeout(() => flush(key), options.maxWaitMs);
        open.set(key, batch);
      }
      batch.items.push({ request, size, resolve, reject });
      batch.texts += size;
      if (batch.texts >= options.maxTexts) flush(key);
    });
}
