// The load each fault runs under: writers ingest N documents through the public API (JSON text and
// multipart uploads, every fourth one re-posted later as a new version, every eighth one deleted) at a pace
// that spreads them over the fault, while searchers query the collection without pause. Writers behave as a
// well-behaved client does: a request that got no answer, a 5xx or a 429 is sent again (ingestion is
// idempotent by content hash) until it is answered or the deadline passes. What was accepted is kept per
// document, to check the end state against.
import { setTimeout as delay } from 'node:timers/promises';
import { retryable } from './api-client.mjs';

const words = (
  'policy travel budget office holiday printer security laptop parking meeting invoice contract salary ' +
  'training badge network password backup server storage kitchen coffee garden window heating cooling ' +
  'project roadmap release review incident pager rotation onboarding handbook expense receipt approval ' +
  'vendor license hardware software update patch firewall router cable monitor keyboard desk chair lamp'
).split(' ');

/** Deterministic text for document i, version v, with a marker no other text holds. */
export function documentText(i, version) {
  const marker = versionMarker(i, version);
  const paragraphs = [];
  for (let p = 0; p < 3 + (i % 3); p++) {
    const sentence = Array.from(
      { length: 40 },
      (_, w) => words[(i * 7 + version * 13 + p * 5 + w * 3) % words.length],
    );
    paragraphs.push(`${marker} part ${p}. ${sentence.join(' ')}.`);
  }
  return paragraphs.join('\n\n');
}

export function versionMarker(i, version) {
  return `mark${i}x${version}`;
}

function randomQuery() {
  return Array.from({ length: 3 }, () => words[Math.floor(Math.random() * words.length)]).join(' ');
}

/**
 * @param {object} options
 * @param {ReturnType<import('./api-client.mjs').createApiClient>} options.api
 * @param {string} options.collection
 * @param {number} options.documents
 * @param {number} options.writers
 * @param {number} options.searchers
 * @param {number} options.spanMs   the time the writers' requests are spread over
 */
export function startWorkload(options) {
  const { api, collection } = options;
  /** external id -> what the API accepted for it */
  const expected = new Map();
  const ops = [];
  for (let i = 0; i < options.documents; i++) ops.push({ kind: 'post', i, version: 1 });
  const followUps = Math.floor(options.documents / 4) + Math.floor(options.documents / 8);
  const spacingMs = options.spanMs / (options.documents + followUps);
  let retryUntil = Number.POSITIVE_INFINITY;
  let searching = true;
  let ticket = 0;
  const started = Date.now();

  /** Sends the request until it is answered with something other than a retryable failure. */
  async function persist(send) {
    for (;;) {
      const answer = await send();
      if (!retryable(answer) || Date.now() > retryUntil) return answer;
      await delay(answer.status === 0 ? 500 : 1000);
    }
  }

  async function post(op) {
    const externalId = `doc-${op.i}`;
    const text = documentText(op.i, op.version);
    // Even documents as JSON, odd ones as uploaded files.
    const send =
      op.i % 2 === 0
        ? () =>
            api.request('POST', `/v1/collections/${collection}/documents`, {
              json: { external_id: externalId, title: `Document ${op.i}`, text },
            })
        : () => {
            const form = new FormData();
            form.set('document', JSON.stringify({ external_id: externalId, title: `Document ${op.i}` }));
            form.set('file', new Blob([text], { type: 'text/plain' }), `${externalId}.txt`);
            return api.request('POST', `/v1/collections/${collection}/documents`, { form });
          };
    const answer = await persist(send);
    const entry = expected.get(externalId) ?? { i: op.i, externalId, id: null, version: 0, deleted: false };
    expected.set(externalId, entry);
    if (answer.status === 200 || answer.status === 202) {
      entry.id = answer.body.id;
      entry.version = Math.max(entry.version, answer.body.version);
      // The follow-ups: a new version of every fourth document, the deletion of every eighth.
      if (op.version === 1 && op.i % 4 === 1) ops.push({ kind: 'post', i: op.i, version: 2 });
      if (op.version === 1 && op.i % 8 === 3) ops.push({ kind: 'delete', i: op.i });
    } else {
      entry.refused = `${answer.status || answer.error} ${answer.body.title ?? ''}`.trim();
    }
  }

  async function remove(op) {
    const entry = expected.get(`doc-${op.i}`);
    const answer = await persist(() => api.request('DELETE', `/v1/documents/${entry.id}`));
    // 404: an earlier attempt went through although its answer was lost.
    if (answer.status === 202 || answer.status === 404) entry.deleted = true;
    else entry.refused = `delete: ${answer.status || answer.error}`;
  }

  async function writer() {
    for (;;) {
      const op = ops.shift();
      if (!op) {
        // Follow-ups are added when their first version is accepted; wait for the other writers' answers.
        if (busy === 0) return;
        await delay(100);
        continue;
      }
      busy += 1;
      const notBefore = started + ticket * spacingMs;
      ticket += 1;
      if (notBefore > Date.now()) await delay(notBefore - Date.now());
      if (op.kind === 'post') await post(op);
      else await remove(op);
      busy -= 1;
    }
  }
  let busy = 0;

  async function searcher() {
    while (searching) {
      await api.request('POST', '/v1/search', { json: { collection, query: randomQuery(), top_k: 5 } });
      await delay(50);
    }
  }

  const writing = Promise.all(Array.from({ length: options.writers }, writer));
  const searchingDone = Promise.all(Array.from({ length: options.searchers }, searcher));
  return {
    expected,
    /** Writers give up retrying after this time (the end of the fault plus the stuck window). */
    retryUntil(at) {
      retryUntil = at;
    },
    writing,
    async stopSearching() {
      searching = false;
      await searchingDone;
    },
  };
}
