import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * Schemathesis generates requests from /openapi.json (valid and invalid ones) and runs all its checks on
 * every answer: no 5xx, only documented status codes, content types and response shapes, valid requests
 * accepted and invalid ones refused, 405 with Allow for methods a path does not serve.
 */
const repoRoot = findRepoRoot();
const schemathesis = join(repoRoot, '.venv', 'schemathesis', 'bin', 'schemathesis');

let stack: Stack;
let modelDir: string;

beforeAll(async () => {
  if (!existsSync(schemathesis))
    throw new Error(`${schemathesis} is missing: run scripts/test.sh (it creates it)`);
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    gatewayEnv: {
      RATE_LIMIT_PER_CREDENTIAL: '1000000',
      RATE_LIMIT_PER_ADDRESS: '1000000',
      BODY_LIMIT: '256kb',
    },
  });
  await stack.call('POST', '/v1/collections', { body: { name: 'kb' } });
  const added = await stack.call('POST', '/v1/collections/kb/documents', {
    body: { text: 'Fuzzing needs a target.' },
  });
  await stack.waitForStatus(added.body.id, undefined, ['ready']);
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

/**
 * Where a schema-valid request may still be refused, because the rule cannot be written in JSON Schema: a
 * webhook host must resolve (to a public address) when it is set (422); a search filter is a recursive tree
 * whose depth and size limits the description leaves open (422), and a cursor is valid only as the API
 * issued it (400 on search, 422 on a collection's document list); a key's expiry must lie in the future
 * (422); an embeddings request names a model that must be served (404), token ids the model must
 * know (422) and inputs within its length (413); a reindex names a served model other than the collection's own
 * (404, 422). Every other operation keeps the default: a request that matches the description must be
 * accepted.
 */
// One filter per entry: schemathesis ORs the filters of an entry.
const config = `
[[operations]]
include-name = "POST /v1/webhook"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "POST /v1/search"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "GET /v1/collections/{name}/documents"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "POST /v1/api-keys"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# A body over the gateway's limit is refused as too large before its fields are read.
[[operations]]
include-name = "POST /v1/collections/{name}/documents"
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

[[operations]]
include-name = "POST /v1/collections/{name}/reindex"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "POST /v1/embeddings"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "413", "422", "429"]
`;

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Schemathesis keeps a cache in its working folder: give it the temporary one.
    const child = spawn(schemathesis, args, { cwd: modelDir, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the public API under a schema-driven fuzzer', () => {
  it('never answers 5xx and always answers as documented', { timeout: 600_000 }, async () => {
    const gateway = stack.services.at(-1)!.url;
    const configFile = join(modelDir, 'schemathesis.toml');
    await writeFile(configFile, config);
    const { code, output } = await run([
      '--config-file',
      configFile,
      'run',
      `${gateway}/openapi.json`,
      '--header',
      `Authorization: Bearer ${stack.adminKey}`,
      // Every check: besides no 5xx and answers as documented, schema-valid requests must be accepted,
      // invalid ones refused, undeclared methods answered 405 with Allow, and auth never ignored.
      '--checks',
      'all',
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      '25',
      '--workers',
      '1',
      '--seed',
      '1',
    ]);
    expect(code, output.slice(-6000)).toBe(0);
    // The run's summary (operations and test cases), for the record.
    console.info(output.split('\n').slice(-12).join('\n'));
  });
});
