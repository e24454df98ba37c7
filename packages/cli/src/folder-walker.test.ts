import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExtensions, walkFiles } from './folder-walker.js';
import { readTextFile } from './text-file.js';

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

describe('readTextFile', () => {
  it('reads UTF-8 text without the byte order mark', async () => {
    await writeFile(
      join(root, 'bom.txt'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Grüße')]),
    );
    expect(await readTextFile(join(root, 'bom.txt'))).toEqual({ kind: 'text', text: 'Grüße' });
  });

  it('skips binary, non-UTF-8 and empty files with a reason', async () => {
    await writeFile(join(root, 'latin1.txt'), Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]));
    await writeFile(join(root, 'empty.txt'), '');
    await writeFile(join(root, 'blank.txt'), ' \n\t\n');
    expect(await readTextFile(join(root, 'guides', 'logo.png'))).toEqual({
      kind: 'skipped',
      reason: 'binary file',
    });
    expect(await readTextFile(join(root, 'latin1.txt'))).toEqual({
      kind: 'skipped',
      reason: 'binary file (not UTF-8)',
    });
    expect(await readTextFile(join(root, 'empty.txt'))).toEqual({ kind: 'skipped', reason: 'empty file' });
    expect(await readTextFile(join(root, 'blank.txt'))).toEqual({ kind: 'skipped', reason: 'empty file' });
  });
});
