// The matrix's HTTP client for the public API. Every answer is counted: searches answered, 5xx, error
// answers that are not problem+json, requests that got no answer at all (connection refused or reset,
// timeout), and the slowest answer, so a fault that makes callers wait shows up even when it ends well.

/** Longer than the gateway's own 30 s call to the search service, so its answer is what gets counted. */
const requestTimeoutMs = 40_000;

export function newCounters() {
  return {
    byStatus: {},
    requests: 0,
    searches: 0,
    searchesAnswered: 0,
    serverErrors: 0,
    notProblem: 0,
    noAnswer: 0,
    slowestMs: 0,
  };
}

/**
 * @param {string} baseUrl  the gateway
 * @param {string} key      an API key
 */
export function createApiClient(baseUrl, key) {
  let counters = newCounters();
  const examples = new Map();
  /** Keeps one example per kind of failure, for the report. */
  const remember = (kind, text) => {
    if (!examples.has(kind)) examples.set(kind, text.slice(0, 240));
  };

  /**
   * @returns {Promise<{status: number, body: any, type: string, ms: number, error?: string}>}
   *   status 0 when no answer came
   */
  async function request(method, path, { json, form } = {}) {
    const started = performance.now();
    const isSearch = path === '/v1/search';
    counters.requests += 1;
    if (isSearch) counters.searches += 1;
    const headers = { authorization: `Bearer ${key}` };
    let body;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await response.text();
      const ms = performance.now() - started;
      counters.slowestMs = Math.max(counters.slowestMs, ms);
      const type = response.headers.get('content-type') ?? '';
      if (response.status >= 500) {
        counters.serverErrors += 1;
        counters.byStatus[response.status] = (counters.byStatus[response.status] ?? 0) + 1;
        remember(`${response.status}`, `${method} ${path} -> ${response.status} ${text}`);
      }
      if (response.status >= 400 && !type.startsWith('application/problem+json')) {
        counters.notProblem += 1;
        remember(`not-problem-${response.status}`, `${method} ${path} -> ${response.status} ${type} ${text}`);
      }
      if (isSearch && response.status === 200) counters.searchesAnswered += 1;
      let parsed = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = { raw: text };
      }
      return {
        status: response.status,
        body: parsed,
        type,
        ms,
        retryAfter: response.headers.get('retry-after'),
      };
    } catch (error) {
      const ms = performance.now() - started;
      counters.slowestMs = Math.max(counters.slowestMs, ms);
      counters.noAnswer += 1;
      const reason = error.name === 'TimeoutError' ? 'timeout' : (error.cause?.code ?? error.message);
      remember(`no-answer-${reason}`, `${method} ${path} -> no answer (${reason})`);
      return { status: 0, body: {}, type: '', ms, error: reason };
    }
  }

  return {
    request,
    get counters() {
      return counters;
    },
    /** Starts a new count (one per fault) and returns the previous one with its failure examples. */
    reset() {
      const previous = { ...counters, examples: [...examples.values()] };
      counters = newCounters();
      examples.clear();
      return previous;
    },
  };
}

/** A failure that a client should retry: no answer, a 5xx, or 429. */
export function retryable(answer) {
  return answer.status === 0 || answer.status >= 500 || answer.status === 429;
}
