import { describe, expect, it } from 'vitest';
import { droppedFiles } from './dropped-files.js';

/**
 * File system entries as a browser hands them over in a drop: a folder's reader answers in batches, then
 * with an empty batch. Node has File but no entries API, so the entries are built here.
 */
function fileEntry(fullPath: string, text: string): FileSystemFileEntry {
  const name = fullPath.split('/').at(-1)!;
  return {
    isFile: true,
    isDirectory: false,
    name,
    fullPath,
    file: (done: (file: File) => void) => done(new File([text], name)),
  } as unknown as FileSystemFileEntry;
}

function folderEntry(fullPath: string, batches: FileSystemEntry[][]): FileSystemDirectoryEntry {
  return {
    isFile: false,
    isDirectory: true,
    name: fullPath.split('/').at(-1)!,
    fullPath,
    createReader: () => {
      const left = [...batches, []];
      return { readEntries: (done: (entries: FileSystemEntry[]) => void) => done(left.shift() ?? []) };
    },
  } as unknown as FileSystemDirectoryEntry;
}

function transfer(entries: (FileSystemEntry | null)[], files: File[] = []): DataTransfer {
  return {
    items: entries.map((entry) => ({ kind: 'file', webkitGetAsEntry: () => entry })),
    files,
  } as unknown as DataTransfer;
}

describe('dropped files', () => {
  it('walks a dropped folder through every batch and subfolder, each file named by its path under the drop', async () => {
    const folder = folderEntry('/handbook', [
      [
        fileEntry('/handbook/a.md', 'a'),
        folderEntry('/handbook/policies', [[fileEntry('/handbook/policies/ja.md', '日本')]]),
      ],
      [fileEntry('/handbook/b.pdf', 'b')],
    ]);
    const picked = await droppedFiles(transfer([folder, fileEntry('/loose.txt', 'x')]));
    expect(picked.map((p) => p.path)).toEqual([
      'handbook/a.md',
      'handbook/policies/ja.md',
      'handbook/b.pdf',
      'loose.txt',
    ]);
    await expect(picked[1]!.file.text()).resolves.toBe('日本');
  });

  it('takes the plain file list when the drop carries no entries', async () => {
    const file = new File(['x'], 'notes.txt');
    const picked = await droppedFiles(transfer([null], [file]));
    expect(picked).toEqual([{ file, path: 'notes.txt' }]);
  });
});
