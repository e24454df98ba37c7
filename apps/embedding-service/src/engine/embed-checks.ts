import { AppError } from '@rag/contracts/app-error';
import type { ModelInfo, OutputKind } from '@rag/contracts/embedding-api';

/** Refuses (400) outputs the model does not have, naming them. */
export function checkOutputs(info: ModelInfo, outputs: readonly OutputKind[]): void {
  const missing = outputs.filter((output) => !info.outputs[output]);
  if (missing.length > 0) {
    throw new AppError(
      'bad_request',
      `Model ${info.name} has no ${missing.join(', ')} output (it serves ${describeOutputs(info)})`,
      { context: { model: info.name, missing } },
    );
  }
}

/** Refuses (413) texts the tokenizer had to cut, for a caller that asked for no truncation. */
export function checkNotTruncated(encoded: readonly { truncated: boolean }[], maxLength: number): void {
  const tooLong = encoded.flatMap((text, index) => (text.truncated ? [index] : []));
  if (tooLong.length === 0) return;
  const one = tooLong.length === 1;
  throw new AppError(
    'payload_too_large',
    `Input ${tooLong.slice(0, 10).join(', ')}${tooLong.length > 10 ? ', ...' : ''} ${one ? 'is' : 'are'} longer than the model's ${maxLength} tokens; shorten ${one ? 'it' : 'them'} or send truncate: true`,
    { context: { inputs: tooLong, maxLength } },
  );
}

/** Refuses (413) a call whose texts have more tokens in all than its limit; returns the total. */
export function checkTotalTokens(ids: readonly (readonly number[])[], limit: number | undefined): number {
  const totalTokens = ids.reduce((sum, text) => sum + text.length, 0);
  if (limit !== undefined && totalTokens > limit) {
    throw new AppError(
      'payload_too_large',
      `The inputs have ${totalTokens} tokens in all, more than the limit of ${limit}; split the request`,
      { context: { tokens: totalTokens, limit } },
    );
  }
  return totalTokens;
}

/**
 * Token arrays skip the tokenizer, so what it guarantees is checked here: every id is one of the model's, and
 * no array is longer than the model reads (cutting it would drop the end token the caller put there).
 */
export function checkTokenIds(
  inputs: readonly (readonly number[])[],
  vocabSize: number,
  maxLength: number,
): void {
  for (const [index, ids] of inputs.entries()) {
    if (ids.length === 0) {
      throw new AppError('validation_failed', `input[${index}] is an empty token array`, {
        context: { issues: [{ path: `input.${index}`, message: 'empty token array' }] },
      });
    }
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad !== undefined) {
      throw new AppError(
        'validation_failed',
        `input[${index}] holds token id ${bad}, which is not one of the model's ${vocabSize} token ids`,
        { context: { issues: [{ path: `input.${index}`, message: 'token id out of range' }] } },
      );
    }
    if (ids.length > maxLength) {
      throw new AppError(
        'payload_too_large',
        `input[${index}] has ${ids.length} tokens, more than the model's ${maxLength}; shorten it`,
        { context: { index, maxLength } },
      );
    }
  }
}

function describeOutputs(info: ModelInfo): string {
  const outputs = (['dense', 'sparse', 'colbert'] as const).filter((output) => info.outputs[output]);
  return info.family === 'encoder'
    ? `${outputs.join(', ')} only, being a sentence encoder`
    : outputs.join(', ');
}
