import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAppError } from '@rag/contracts/app-error';
import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentExtractor } from './document-extractor.js';
import { buildPdf, buildZip } from './document-fixtures.test-support.js';
import { docsDir } from './e5-tokenizer.test-support.js';
import { extractInlineText } from './extract-document.js';
import { extractInProcess } from './extract-in-process.js';
import { mediaTypes } from './extracted-document.js';
import { resolveExtractionLimits } from './extraction-limits.js';

// Loading pdf.js or mammoth for the first time takes seconds when the machine is busy with other tests.
const parserTimeout = 30_000;
const limits = resolveExtractionLimits();
const samplePdf = () => new Uint8Array(readFileSync(join(docsDir, 'pdf/en_markitdown_test.pdf')));
const sampleDocx = () => new Uint8Array(readFileSync(join(docsDir, 'docx/en_docling_lorem_ipsum.docx')));

/** Resolves to the AppError the promise rejects with (fails the test if it resolves or throws something else). */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(isAppError(error)).toBe(true);
  if (!isAppError(error)) throw error;
  expect(error.retryable).toBe(false);
  return error;
}

/** A deterministic stream of bytes that looks random (xorshift). */
function noise(length: number, seed = 0x9e3779b9): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** A ZIP whose word/document.xml inflates to `size` zero bytes, built in 1 MiB steps without holding it all. */
function zipBomb(size: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    chunks.push(chunk);
  });
  const types = new ZipDeflate('[Content_Types].xml');
  zip.add(types);
  types.push(
    strToU8(
      '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    ),
    true,
  );
  const entry = new ZipDeflate('word/document.xml', { level: 9 });
  zip.add(entry);
  const step = new Uint8Array(1024 * 1024);
  for (let written = 0; written < size; written += step.length)
    entry.push(step, written + step.length >= size);
  zip.end();
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Rewrites every declared uncompressed size in the archive to `size`: the archive then lies about its content. */
function lieAboutSizes(zip: Uint8Array, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= out.length; i++) {
    const signature = view.getUint32(i, true);
    if (signature === 0x04034b50) view.setUint32(i + 22, size, true);
    else if (signature === 0x02014b50) view.setUint32(i + 24, size, true);
    else if (signature === 0x08074b50) view.setUint32(i + 12, size, true);
  }
  return out;
}

const wordNs = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const contentTypes =
  '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>';
const innocentDocument = `<?xml version="1.0"?><w:document ${wordNs}><w:body><w:p><w:r><w:t>Innocent text.</w:t></w:r></w:p></w:body></w:document>`;

/** Calls `visit` with the offset of each central directory entry and returns the end record's offset. */
function walkCentralDirectory(zip: Uint8Array, visit: (offset: number, name: string) => void): number {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (view.getUint32(end, true) !== 0x06054b50) end--;
  let offset = view.getUint32(end + 16, true);
  for (let index = view.getUint16(end + 10, true); index > 0; index--) {
    const nameLength = view.getUint16(offset + 28, true);
    visit(offset, new TextDecoder().decode(zip.subarray(offset + 46, offset + 46 + nameLength)));
    offset += 46 + nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return end;
}

/**
 * A DOCX whose central directory leads to a 64 MiB word/document.xml that it declares as 1000 bytes, while the
 * archive starts with an extra local entry of the same name, small and innocent, that the central directory does
 * not list. A reader that walks the local headers sees only the innocent one; one that follows the central
 * directory inflates the bomb.
 */
function hiddenBomb(): Uint8Array {
  const decoy = zipSync({ 'word/document.xml': strToU8(innocentDocument) });
  const decoyEnd = walkCentralDirectory(decoy, () => {});
  // Everything before the central directory: the local entry alone.
  const decoyLocal = decoy.subarray(0, new DataView(decoy.buffer).getUint32(decoyEnd + 16, true));
  const bomb = zipSync({
    '[Content_Types].xml': strToU8(contentTypes),
    'word/document.xml': new Uint8Array(64 * 1024 * 1024),
  });
  const out = new Uint8Array(decoyLocal.length + bomb.length);
  out.set(decoyLocal);
  out.set(bomb, decoyLocal.length);
  const view = new DataView(out.buffer);
  const shifted = out.subarray(decoyLocal.length);
  const end = walkCentralDirectory(shifted, (offset, name) => {
    const at = decoyLocal.length + offset;
    view.setUint32(at + 42, view.getUint32(at + 42, true) + decoyLocal.length, true);
    if (name === 'word/document.xml') view.setUint32(at + 24, 1000, true);
  });
  const endAt = decoyLocal.length + end;
  view.setUint32(endAt + 16, view.getUint32(endAt + 16, true) + decoyLocal.length, true);
  return out;
}

/**
 * A DOCX whose central directory entry word/document.xml points at the local entry word/media/image1.png, a
 * 64 MiB bomb: a reader that budgets by the local headers skips it as an image; one that follows the central
 * directory inflates it as the document.
 */
function misdirectedEntry(): Uint8Array {
  const zip = zipSync({
    '[Content_Types].xml': strToU8(contentTypes),
    'word/document.xml': strToU8(innocentDocument),
    'word/media/image1.png': new Uint8Array(64 * 1024 * 1024),
  });
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let image = -1;
  let document = -1;
  walkCentralDirectory(zip, (offset, name) => {
    if (name === 'word/media/image1.png') image = offset;
    if (name === 'word/document.xml') document = offset;
  });
  view.setUint32(document + 20, view.getUint32(image + 20, true), true);
  view.setUint32(document + 24, 1000, true);
  view.setUint32(document + 42, view.getUint32(image + 42, true), true);
  return zip;
}

describe('empty and unknown input', () => {
  it('rejects empty bytes, naming the file', async () => {
    const error = await failure(extractInProcess(new Uint8Array(0), { filename: 'file.pdf' }, limits));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('the document "file.pdf" is empty (0 bytes)');
  });

  it('rejects random bytes as an unsupported media type', async () => {
    const error = await failure(extractInProcess(noise(4096), { filename: 'data.bin' }, limits));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('binary content of an unknown type');
  });

  it('names binary formats it recognizes but does not read', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...noise(100)]);
    const error = await failure(extractInProcess(png, { filename: 'photo.pdf' }, limits));
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('PNG image');
    const zip = buildZip({ 'readme.txt': 'just a zip' });
    expect((await failure(extractInProcess(zip, {}, limits))).message).toContain('not DOCX, XLSX or PPTX');
  });

  it('rejects whitespace-only text and inline text', async () => {
    expect((await failure(extractInProcess(strToU8('  \n\n\t '), {}, limits))).message).toContain(
      'no extractable text',
    );
    expect(() => extractInlineText('   ', {})).toThrow('the document text is empty');
  });
});

describe('content decides the format, not the name', { timeout: parserTimeout }, () => {
  it('reads a PDF named .docx as a PDF', async () => {
    const doc = await extractInProcess(
      samplePdf(),
      { filename: 'report.docx', mediaType: 'application/msword' },
      limits,
    );
    expect(doc.mediaType).toBe(mediaTypes.pdf);
    expect(doc.text).toContain('Large language models');
  });

  it('reads a DOCX named .pdf as a DOCX', async () => {
    const doc = await extractInProcess(
      sampleDocx(),
      { filename: 'scan.pdf', mediaType: 'application/pdf' },
      limits,
    );
    expect(doc.mediaType).toBe(mediaTypes.docx);
    expect(doc.text).toContain('Lorem ipsum dolor sit amet');
  });

  it('reads an HTML page named .txt as HTML and text named .pdf as text', async () => {
    const html =
      '<!DOCTYPE html><html><head><title>T</title><script>var x = 1;</script></head><body><nav>Menu</nav><h1>Hello</h1><p>World &amp; more</p></body></html>';
    const page = await extractInProcess(strToU8(html), { filename: 'notes.txt' }, limits);
    expect(page).toMatchObject({ mediaType: mediaTypes.html, text: 'Hello\n\nWorld & more', title: 'T' });
    const text = await extractInProcess(strToU8('Just a note.'), { filename: 'scan.pdf' }, limits);
    expect(text).toMatchObject({ mediaType: mediaTypes.plain, text: 'Just a note.' });
  });
});

describe('files labelled as a binary format that they are not', () => {
  const garbage = new Uint8Array([0x00, 0x01, 0x02, ...strToU8('garbage'), 0x00, 0x00]);

  it('refuses bytes that are neither the named format nor plain text, naming the file', async () => {
    for (const [filename, name] of [
      ['broken.pdf', 'PDF'],
      ['broken.docx', 'DOCX'],
      ['broken.xlsx', 'XLSX'],
      ['broken.pptx', 'PPTX'],
    ] as const) {
      const error = await failure(extractInProcess(garbage, { filename }, limits));
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toContain(`"${filename}" is labelled ${name} but is not a ${name}`);
    }
  });

  it('goes by the declared type when there is no name', async () => {
    const error = await failure(extractInProcess(garbage, { mediaType: 'application/pdf' }, limits));
    expect(error.message).toContain('the file is labelled PDF but is not a PDF (no %PDF- header)');
  });

  it('takes only plain UTF-8 text under a binary label, not a guessed legacy encoding', async () => {
    const memo = '日本語のメモです。会議は月曜日の午前十時から、第二会議室で行います。';
    const shiftJis = new Uint8Array(iconv.encode(memo, 'Shift_JIS'));
    const asText = await extractInProcess(shiftJis, { filename: 'memo.txt' }, limits);
    expect(asText.text).toBe(memo);
    const error = await failure(extractInProcess(shiftJis, { filename: 'memo.pdf' }, limits));
    expect(error.message).toContain('"memo.pdf" is labelled PDF');
  });
});

describe('damaged files', { timeout: parserTimeout }, () => {
  it('fails a truncated PDF with a reason', async () => {
    const bytes = samplePdf();
    const error = await failure(extractInProcess(bytes.subarray(0, 2000), { filename: 'cut.pdf' }, limits));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toMatch(/PDF/);
  });

  it('fails a DOCX without word/document.xml, naming the part', async () => {
    const bytes = buildZip({
      '[Content_Types].xml':
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
      'word/styles.xml':
        '<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
    });
    const error = await failure(extractInProcess(bytes, { filename: 'broken.docx' }, limits));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('word/document.xml');
  });

  it('fails a truncated DOCX as an unreadable archive', async () => {
    const bytes = sampleDocx();
    const error = await failure(
      extractInProcess(bytes.subarray(0, bytes.length / 2), { filename: 'cut.docx' }, limits),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('not a readable ZIP archive');
  });

  it('refuses an OOXML part with a DTD (entity expansion)', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><workbook><sheets/></workbook>';
    const error = await failure(extractInProcess(buildZip({ 'xl/workbook.xml': laughs }), {}, limits));
    expect(error.message).toContain('declares a DTD');
  });

  // XML allows any number of comments before the DOCTYPE: a guard that reads only the start misses this one.
  const padding = `<!--${'x'.repeat(8192)}-->`;
  const entities = '<!DOCTYPE d [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>';

  it('refuses a DTD after a long comment in an XLSX part', async () => {
    const workbook = `<?xml version="1.0"?>${padding}${entities}<workbook><sheets/></workbook>`;
    const error = await failure(extractInProcess(buildZip({ 'xl/workbook.xml': workbook }), {}, limits));
    expect(error.message).toContain('xl/workbook.xml declares a DTD');
  });

  it('refuses a DTD in any DOCX part, which mammoth would parse with its own XML parser', async () => {
    const document = `<?xml version="1.0"?>${padding}${entities}<w:document ${wordNs}><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>`;
    const bytes = buildZip({ '[Content_Types].xml': contentTypes, 'word/document.xml': document });
    const error = await failure(extractInProcess(bytes, { filename: 'laughs.docx' }, limits));
    expect(error.message).toContain('word/document.xml declares a DTD');
  });
});

describe('zip bombs', { timeout: parserTimeout }, () => {
  // 64 MiB of zeros deflates to about 64 KiB.
  const bomb = zipBomb(64 * 1024 * 1024);
  const budget = { ...limits, maxDecompressedBytes: 8 * 1024 * 1024 };

  it('fails on the declared size before inflating anything', async () => {
    expect(bomb.length).toBeLessThan(200 * 1024);
    const error = await failure(extractInProcess(bomb, { filename: 'bomb.docx' }, budget));
    expect(error.code).toBe('payload_too_large');
    expect(error.context).toMatchObject({
      limit: 'maxDecompressedBytes',
      value: budget.maxDecompressedBytes,
    });
    // The declared total: the bomb and the small [Content_Types].xml.
    expect(error.context.actual as number).toBeGreaterThan(64 * 1024 * 1024);
    expect(error.context.actual as number).toBeLessThan(64 * 1024 * 1024 + 1024);
  });

  it('stops inflating as soon as an archive that lies about its sizes passes the budget', async () => {
    const liar = lieAboutSizes(bomb, 1000);
    const error = await failure(extractInProcess(liar, { filename: 'bomb.docx' }, budget));
    expect(error.code).toBe('payload_too_large');
    expect(error.context.limit).toBe('maxDecompressedBytes');
    // Inflation stopped within one 4 KiB input slice (at most ~4 MiB of output) past the budget, far short of the
    // 64 MiB inside.
    expect(error.context.actual as number).toBeGreaterThan(budget.maxDecompressedBytes);
    expect(error.context.actual as number).toBeLessThan(budget.maxDecompressedBytes + 5 * 1024 * 1024);
  });
  it('budgets the entry the central directory names, not a decoy local header of the same name', async () => {
    const error = await failure(extractInProcess(hiddenBomb(), { filename: 'bomb.docx' }, budget));
    expect(error.code).toBe('payload_too_large');
    expect(error.context.limit).toBe('maxDecompressedBytes');
  });

  it('refuses an archive that lists one name twice, where readers differ on which entry counts', async () => {
    const zip = zipSync({
      '[Content_Types].xml': strToU8(contentTypes),
      'word/document.xml': strToU8(innocentDocument),
      'word/documenx.xml': new Uint8Array(64 * 1024 * 1024),
    });
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    walkCentralDirectory(zip, (offset, name) => {
      if (name !== 'word/documenx.xml') return;
      // The central directory now names the bomb word/document.xml too, declared as 1000 bytes.
      zip.set(strToU8('word/document.xml'), offset + 46);
      view.setUint32(offset + 24, 1000, true);
    });
    const error = await failure(extractInProcess(zip, { filename: 'twice.docx' }, budget));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('the entry word/document.xml is listed twice');
  });

  it('refuses an archive whose central directory points an entry at a local header of another name', async () => {
    const error = await failure(extractInProcess(misdirectedEntry(), { filename: 'bomb.docx' }, budget));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('word/document.xml');
    expect(error.message).toContain('the local headers and the central directory disagree');
  });
});

describe('limits', { timeout: parserTimeout }, () => {
  it.each([
    ['maxInputBytes', { maxInputBytes: 1000 }, () => samplePdf()],
    ['maxPages', { maxPages: 2 }, () => buildPdf([['one'], ['two'], ['three']])],
    ['maxTextChars', { maxTextChars: 100 }, () => samplePdf()],
  ] as const)('fails with payload_too_large naming %s', async (name, override, bytes) => {
    const error = await failure(extractInProcess(bytes(), {}, { ...limits, ...override }));
    expect(error.code).toBe('payload_too_large');
    expect(error.context.limit).toBe(name);
    expect(error.context.value).toBe(Object.values(override)[0]);
    expect(error.message).toContain(`${name} limit of ${Object.values(override)[0]}`);
  });

  it('limits inline text too', () => {
    expect(() => extractInlineText('x'.repeat(101), {}, { maxTextChars: 100 })).toThrow(
      'maxTextChars limit of 100',
    );
  });

  it('rejects a limit that is not a positive number or not a limit', async () => {
    const extractor = createDocumentExtractor();
    try {
      await expect(extractor.extract(samplePdf(), {}, { maxPages: 0 })).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(
        extractor.extract(samplePdf(), {}, { maxPagez: 3 } as unknown as Record<string, number>),
      ).rejects.toThrow('unknown extraction limit "maxPagez"');
    } finally {
      await extractor.close();
    }
  });
});

describe('the extraction threads', { timeout: 120_000 }, () => {
  const extractor = createDocumentExtractor({ threads: 1 });
  afterAll(() => extractor.close());

  it('stops a parse that runs past parseTimeoutMs and keeps serving afterwards', async () => {
    // One millisecond is less than starting the parse takes, so the timer always wins.
    const error = await failure(extractor.extract(samplePdf(), {}, { parseTimeoutMs: 1 }));
    expect(error.code).toBe('payload_too_large');
    expect(error.context).toEqual({ limit: 'parseTimeoutMs', value: 1 });
    const doc = await extractor.extract(samplePdf(), {});
    expect(doc.text).toContain('Large language models');
  });

  it('ends a thread whose parser needs more heap than parserHeapMb, and keeps serving afterwards', async () => {
    // About 10 MB of HTML: its DOM alone needs far more than 32 MB of heap.
    const html = readFileSync(join(docsDir, 'html/en_wikipedia_duck.html'), 'utf8').repeat(40);
    const error = await failure(
      extractor.extract(strToU8(html), { filename: 'huge.html' }, { parserHeapMb: 32 }),
    );
    expect(error.code).toBe('payload_too_large');
    expect(error.context).toEqual({ limit: 'parserHeapMb', value: 32 });
    expect((await extractor.extract(strToU8('<p>still here</p>'), { mediaType: 'text/html' })).text).toBe(
      'still here',
    );
  });

  it('passes errors from the thread back as AppErrors', async () => {
    const error = await failure(extractor.extract(noise(4096), {}));
    expect(error.code).toBe('unsupported_media_type');
  });

  it('queues documents beyond its threads and answers each with its own result', async () => {
    const pool = createDocumentExtractor({ threads: 2, documentsPerThread: 2 });
    try {
      const inputs = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((word) =>
        strToU8(`The word is ${word}.`),
      );
      const docs = await Promise.all([
        ...inputs.map((bytes) => pool.extract(bytes, {})),
        pool.extract(noise(4096), {}).catch((error) => error),
      ]);
      expect(docs.slice(0, 5).map((doc) => doc.text)).toEqual(
        ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((word) => `The word is ${word}.`),
      );
      expect(docs[5]).toMatchObject({ code: 'unsupported_media_type' });
    } finally {
      await pool.close();
    }
    await expect(pool.extract(strToU8('late'), {})).rejects.toMatchObject({ code: 'shutting_down' });
  });

  it('leaves the caller its bytes', async () => {
    const bytes = samplePdf();
    await extractor.extract(bytes, {});
    expect(bytes.length).toBe(samplePdf().length);
    expect(bytes.subarray(0, 5)).toEqual(strToU8('%PDF-'));
  });
});
