import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { completeMarkerName, materializeModel, readCompleteMarker } from './model-cache.js';
import { loadModelFolder } from './model-manifest.js';
import { parseModelSpec } from './model-spec.js';
import { silentProgress } from './progress-reporter.js';

describe('materializeModel', () => {
  let cacheDir: string;
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'model-cache-'));
  });
  afterEach(() => rm(cacheDir, { recursive: true, force: true }));

  const tiny = () =>
    materializeModel(parseModelSpec('generated:tiny-m3'), { cacheDir, progress: silentProgress });

  it('builds a folder once, marks it complete last and reuses it', async () => {
    const first = await tiny();
    expect(first).toEqual({ dir: join(cacheDir, 'tiny-m3'), reused: false });
    expect((await loadModelFolder(first.dir)).manifest.family).toBe('bge-m3');
    expect(await readCompleteMarker(first.dir)).toMatchObject({
      spec: 'generated:tiny-m3',
      builder: 'tiny-model-v1',
    });
    // Nothing but the model folder is left in the cache: staging folders are renamed or removed.
    expect(await readdir(cacheDir)).toEqual(['tiny-m3']);
    expect(await tiny()).toEqual({ dir: first.dir, reused: true });
  });

  it('removes staging folders that a killed build left behind', async () => {
    // A pid above the kernel's pid_max belongs to no process.
    await mkdir(join(cacheDir, '.tiny-m3.building-4194305-abc123'));
    await mkdir(join(cacheDir, `.tiny-m3.building-${process.pid}-live`));
    await tiny();
    expect((await readdir(cacheDir)).sort()).toEqual([`.tiny-m3.building-${process.pid}-live`, 'tiny-m3']);
  });

  it('rebuilds a folder without a marker or with one from another builder', async () => {
    const { dir } = await tiny();
    await writeFile(join(dir, 'model.onnx'), 'half-written');
    await rm(join(dir, completeMarkerName));
    expect((await tiny()).reused).toBe(false);
    expect((await readFile(join(dir, 'model.onnx'))).length).toBeGreaterThan(1000);

    await writeFile(
      join(dir, completeMarkerName),
      JSON.stringify({ spec: 'generated:tiny-m3', builder: 'old' }),
    );
    expect((await tiny()).reused).toBe(false);
    expect(await readCompleteMarker(dir)).toMatchObject({ builder: 'tiny-model-v1' });
  });
});
