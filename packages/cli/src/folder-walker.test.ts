import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExtensions, walkFiles } from './folder-walker.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rag-walk-'));
  await mkdir(join(root, 'guides', 'deep'), { recursive: true });
  await mkdir(join(root, '.git'));
  await writeFile(join(root, 'b.md'), '# B');
  await writeFile(join(root, 'a.txt'), 'a');
  await writeFile(join(root, 'guides', 'setup.MD'), '# Setup');
  await writeFile(join(root, 'guides', 'deep', 'notes.txt'), 'notes');
  await writeFile(join(root, 'guides', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1]));
  await writeFile(join(root, '.git', 'HEAD'), 'ref: refs/heads/main');
  await writeFile(join(root, '.hidden.md'), '# hidden');
  await symlink(root, join(root, 'guides', 'loop'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('walkFiles', () => {
  it('finds every file below the folder as a sorted "/"-separated relative path, without hidden entries or links', async () => {
    expect(await walkFiles(root)).toEqual([
      'a.txt',
      'b.md',
      'guides/deep/notes.txt',
      'guides/logo.png',
      'guides/setup.MD',
    ]);
  });

  it('keeps only the asked extensions, whatever their case', async () => {
    expect(await walkFiles(root, { extensions: parseExtensions('md, TXT') })).toEqual([
      'a.txt',
      'b.md',
      'guides/deep/notes.txt',
      'guides/setup.MD',
    ]);
  });
});

describe('parseExtensions', () => {
  it('adds the dot and lower-cases', () => {
    expect(parseExtensions('.md,txt, .Rst,,')).toEqual(['.md', '.txt', '.rst']);
  });
});
