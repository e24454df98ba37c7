import { describe, expect, it } from 'vitest';
import { createDependencyWatch } from './dependency-watch.js';

const never = () => new Promise<void>(() => {});

function watchWith(check: () => Promise<void>) {
  // The background interval never fires within a test: each probe here is started by the test itself.
  return createDependencyWatch({ name: 'Milvus', check, intervalMs: 3_600_000, timeoutMs: 20 });
}

describe('dependency watch', () => {
  it('reads an unanswered probe as an outage when nothing else was answered meanwhile', async () => {
    const watch = watchWith(never);
    await watch.probe();
    expect(watch.problem()).toBe('no answer within 20 ms');
    expect(() => watch.assertUp()).toThrow(/Milvus is unavailable: no answer within 20 ms/);
    watch.stop();
  });

  it('reads an unanswered probe as a queue, not an outage, while searches are being answered', async () => {
    const watch = watchWith(never);
    const probing = watch.probe();
    watch.answered();
    await probing;
    expect(watch.problem()).toBeUndefined();
    expect(() => watch.assertUp()).not.toThrow();
    watch.stop();
  });

  it('does not count an answer from before the probe began', async () => {
    const watch = watchWith(never);
    watch.answered();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await watch.probe();
    expect(watch.problem()).toBe('no answer within 20 ms');
    watch.stop();
  });
});
