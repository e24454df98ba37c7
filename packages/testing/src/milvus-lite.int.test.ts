import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, MilvusClient } from '@zilliz/milvus2-sdk-node';
import { afterAll, describe, expect, it } from 'vitest';
import { findRepoRoot, type MilvusLite, milvusPythonPath, startMilvusLite } from './milvus-lite.js';

const started: MilvusLite[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
});

async function start(options: Parameters<typeof startMilvusLite>[0] = {}): Promise<MilvusLite> {
  const server = await startMilvusLite(options);
  started.push(server);
  return server;
}

function portIsOpen(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host: host ?? '', port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startMilvusLite', () => {
  it('finds the repo root and the venv python', () => {
    const root = findRepoRoot();
    expect(existsSync(join(root, 'pnpm-workspace.yaml'))).toBe(true);
    expect(milvusPythonPath(root)).toBe(join(root, '.venv', 'milvus', 'bin', 'python'));
  });

  it('starts a healthy server on a free port and stops it, removing its own temp data dir', async () => {
    const server = await start();
    const client = new MilvusClient({ address: server.address, logLevel: 'error' });
    try {
      expect((await client.checkHealth()).isHealthy).toBe(true);
    } finally {
      await client.closeConnection();
    }
    expect(existsSync(server.dataDir)).toBe(true);

    await server.stop();
    expect(await portIsOpen(server.address)).toBe(false);
    expect(existsSync(server.dataDir)).toBe(false);
    await server.stop();
  });

  it('keeps data in a given data dir across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'milvus-lite-test-'));
    try {
      const first = await start({ dataDir });
      const client = new MilvusClient({ address: first.address, logLevel: 'error' });
      await client.createCollection({
        collection_name: 'kept',
        fields: [
          { name: 'id', data_type: DataType.VarChar, is_primary_key: true, max_length: 16 },
          { name: 'v', data_type: DataType.FloatVector, dim: 2 },
        ],
      });
      await client.closeConnection();
      await first.stop();
      expect(existsSync(dataDir)).toBe(true);

      const second = await start({ dataDir });
      const again = new MilvusClient({ address: second.address, logLevel: 'error' });
      try {
        expect((await again.hasCollection({ collection_name: 'kept' })).value).toBe(true);
      } finally {
        await again.closeConnection();
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('fails with the server output when the server cannot start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'milvus-lite-test-'));
    try {
      const holder = await start({ dataDir });
      // The data dir is locked by the running server, so a second one on it exits at once.
      await expect(start({ dataDir, startTimeoutMs: 20_000 })).rejects.toThrow(/server output/);
      await holder.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('uses a given port, and refuses one that is taken instead of sharing it', async () => {
    const first = await start();
    const port = Number(first.address.split(':')[1]);
    await expect(start({ port, startTimeoutMs: 20_000 })).rejects.toThrow(/Failed to bind/);
    await first.stop();
  });

  it('says how to set up the venv when the python is missing', async () => {
    await expect(start({ pythonPath: '/nonexistent/python' })).rejects.toThrow(/milvus:setup/);
  });
});
