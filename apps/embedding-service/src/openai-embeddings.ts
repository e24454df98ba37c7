/**
 * The OpenAI embeddings API (POST /v1/embeddings; its request schema is in @rag/contracts/openai-embeddings), so
 * that OpenAI client libraries and tools built on them can use this service: dense vectors only, as floats or
 * base64 of little-endian float32.
 */

/** Little-endian float32 bytes in base64, as OpenAI's encoding_format "base64" gives them. */
export function encodeBase64Float32(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  const bytes = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    // Big-endian host: swap each float's bytes so the wire format stays little-endian.
    bytes.swap32();
  }
  return bytes.toString('base64');
}

export function decodeBase64Float32(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}
