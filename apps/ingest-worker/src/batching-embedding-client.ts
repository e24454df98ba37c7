import type { EmbedRequest, EmbedResponse } from '@rag/contracts/embedding-api';
import type { EmbeddingClient, TokenizeRequest } from '@rag/service-clients/embedding-client';

/**
 * An EmbeddingClient that merges the calls of concurrent jobs into one request. Most documents are a chunk
 * or two, and a request of one text costs the embedding service nearly as much as a request of dozens, so
 * without this the pipeline would be bound by request overhead rather than by the model. Calls wait at
 * most `maxWaitMs` for company and are grouped only with calls of identical options.
 */
export function createBatchingEmbeddingClient(
  client: EmbeddingClient,
  options: { maxTexts: number; maxWaitMs: number },
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

/** Collects calls with the same key until `maxTexts` texts or `maxWaitMs`, then runs them as one. */
function createBatcher<I, O>(
  keyOf: (request: I) => string,
  run: (requests: I[]) => Promise<O[]>,
  options: { maxTexts: number; maxWaitMs: number },
): (request: I, size: number) => Promise<O> {
  const open = new Map<string, { items: Waiting<I, O>[]; texts: number; timer: NodeJS.Timeout }>();

  function flush(key: string): void {
    const batch = open.get(key);
    if (!batch) return;
    open.delete(key);
    clearTimeout(batch.timer);
    run(batch.items.map((item) => item.request)).then(
      (results) => {
        for (const [index, item] of batch.items.entries()) item.resolve(results[index]!);
      },
      (error: unknown) => {
        for (const item of batch.items) item.reject(error);
      },
    );
  }

  return (request, size) =>
    new Promise<O>((resolve, reject) => {
      const key = keyOf(request);
      // A call that would overflow the open batch sends that one first; a big call goes on its own.
      const current = open.get(key);
      if (current && current.texts + size > options.maxTexts) flush(key);
      const batch = open.get(key) ?? {
        items: [],
        texts: 0,
        timer: setTimeout(() => flush(key), options.maxWaitMs),
      };
      open.set(key, batch);
      batch.items.push({ request, size, resolve, reject });
      batch.texts += size;
      if (batch.texts >= options.maxTexts) flush(key);
    });
}
