import { describe, expect, it } from 'vitest';
import { decodeBase64Float32, encodeBase64Float32 } from './openai-embeddings.js';

describe('OpenAI base64 embeddings', () => {
  it('encodes little-endian float32, as OpenAI clients decode it', () => {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 (little-endian).
    const encoded = encodeBase64Float32([1, -2]);
    expect(Buffer.from(encoded, 'base64')).toEqual(
      Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]),
    );
    expect(decodeBase64Float32(encoded)).toEqual([1, -2]);
  });

  it('rounds to float32 and nothing more', () => {
    expect(decodeBase64Float32(encodeBase64Float32([0.1, 1 / 3]))).toEqual([
      Math.fround(0.1),
      Math.fround(1 / 3),
    ]);
  });
});
