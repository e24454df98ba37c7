import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isRagApiError } from '@rag/client/rag-api-error';
import type { RagClient } from '@rag/client/rag-client';
import type { Output } from './cli-io.js';
import { documentTitle } from './document-title.js';
import { walkFiles } from './folder-walker.js';
import { startProgress } from './progress-reporter.js';
import { mapWithConcurrency } from './task-pool.js';
import { readTextFile } from './text-file.js';
import { UsageError } from './usage-error.js';

export interface IngestOptions {
  folder: string;
  collection: string;
  concurrency: number;
  /** Empty for every file. */
  extensions: readonly string[];
  wait: boolean;
  waitTimeoutMs: number;
  pollIntervalMs?: number;
}

export interface IngestSummary {
  files: number;
  queued: number;
  unchanged: number;
  skipped: number;
  /** Documents seen ready, with --wait only. */
  ready: number;
  failed: Array<{ file: string; reason: string }>;
}

/** external_id's limit in the public API. */
const maxExternalIdLength = 256;

type Upload =
  | { file: string; outcome: 'queued' | 'unchanged'; id: string; status: string }
  | { file: string; outcome: 'skipped' }
  | { file: string; outcome: 'failed'; reason: string };

/**
 * Posts every text file under a folder as a document of a collection, its path relative to the folder as
 * the external id, so that running it again on the same folder changes nothing (the API answers 200 for
 * the same text under the same id). With `wait`, it then follows every document to ready or failed.
 */
export async function ingestFolder(
  client: RagClient,
  options: IngestOptions,
  log: Output,
): Promise<IngestSummary> {
  const folderStat = await stat(options.folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new UsageError(`${options.folder} is not a folder`);

  // Fail once, before any upload, for a wrong key, an unreachable gateway or a missing collection.
  const { collections } = await client.listCollections();
  if (!collections.some((c) => c.name === options.collection)) {
    throw new UsageError(
      `Collection "${options.collection}" does not exist or the key may not use it (create it with: rag collections create ${options.collection})`,
    );
  }

  const files = await walkFiles(options.folder, { extensions: options.extensions });
  const uploading = startProgress(log, 'upload', files.length);
  const uploads = await mapWithConcurrency(files, options.concurrency, async (file): Promise<Upload> => {
    try {
      return await upload(client, options, file, (line) => uploading.log(line));
    } finally {
      uploading.tick(file);
    }
  });
  uploading.done();

  const summary: IngestSummary = {
    files: files.length,
    queued: 0,
    unchanged: 0,
    skipped: 0,
    ready: 0,
    failed: [],
  };
  const pending: Array<{ file: string; id: string }> = [];
  for (const upload of uploads) {
    if (upload.outcome === 'skipped') summary.skipped++;
    else if (upload.outcome === 'failed') summary.failed.push({ file: upload.file, reason: upload.reason });
    else {
      summary[upload.outcome]++;
      if (!options.wait) continue;
      // An unchanged document may already be done; only the others need polling.
      if (upload.status === 'ready') summary.ready++;
      else pending.push({ file: upload.file, id: upload.id });
    }
  }
  if (!options.wait) return summary;

  const waiting = startProgress(log, 'indexing', pending.length);
  await mapWithConcurrency(pending, options.concurrency, async ({ file, id }) => {
    try {
      const document = await client.waitForDocument(id, {
        statuses: ['ready', 'failed'],
        timeoutMs: options.waitTimeoutMs,
        intervalMs: options.pollIntervalMs ?? 500,
      });
      if (document.status === 'ready') summary.ready++;
      else summary.failed.push({ file, reason: document.error ?? 'indexing failed' });
    } catch (error) {
      summary.failed.push({ file, reason: reasonOf(error) });
    } finally {
      waiting.tick(file);
    }
  });
  waiting.done();
  summary.failed.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return summary;
}

async function upload(
  client: RagClient,
  options: IngestOptions,
  file: string,
  warn: (line: string) => void,
): Promise<Upload> {
  if (file.length > maxExternalIdLength) {
    warn(`skipped ${file}: the path is longer than ${maxExternalIdLength} characters`);
    return { file, outcome: 'skipped' };
  }
  const content = await readTextFile(join(options.folder, file));
  if (content.kind === 'skipped') {
    warn(`skipped ${file}: ${content.reason}`);
    return { file, outcome: 'skipped' };
  }
  try {
    const accepted = await client.addDocument(options.collection, {
      external_id: file,
      title: documentTitle(file, content.text),
      text: content.text,
    });
    return {
      file,
      outcome: accepted.unchanged ? 'unchanged' : 'queued',
      id: accepted.id,
      status: accepted.status,
    };
  } catch (error) {
    return { file, outcome: 'failed', reason: reasonOf(error) };
  }
}

function reasonOf(error: unknown): string {
  if (isRagApiError(error)) {
    return error.requestId ? `${error.detail} (request id ${error.requestId})` : error.detail;
  }
  return error instanceof Error ? error.message : String(error);
}

export function formatIngestSummary(summary: IngestSummary, waited: boolean): string {
  const lines = [
    `${summary.files} files: ${summary.queued} queued, ${summary.unchanged} unchanged, ${summary.skipped} skipped`,
  ];
  if (waited) lines.push(`${summary.ready} ready, ${summary.failed.length} failed`);
  else if (summary.failed.length > 0) lines.push(`${summary.failed.length} failed`);
  for (const { file, reason } of summary.failed) lines.push(`  failed ${file}: ${reason}`);
  return `${lines.join('\n')}\n`;
}
