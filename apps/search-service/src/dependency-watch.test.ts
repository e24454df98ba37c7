import { describe, expect, it } from 'vitest';
import { createDependencyWatch } from './dependency-watch.js';

const never = () => new Promise<void>(() => {});

function watchWith(check: () => Promise<void>, stallMs?: number) {
  // The background interval never fires within a test: each probe here is started by the test itself.
  return createDependencyWatch({
    name: 'Milvus',
    check,
    intervalMs: 3_600_000,
    timeoutMs: 20,
    ...(stallMs === undefined ? {} : { stallMs }),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  it('reads an unanswered probe as a queue while searches are in flight and one was answered within the stall window', async () => {
    const watch = watchWith(never, 10_000);
    await watch.track(async () => 'answered');
    let release: () => void = () => {};
    const inFlight = watch.track(() => new Promise<void>((resolve) => (release = resolve)));
    // No answer during the probe itself: the searches in flight are taking their turn, as under a long queue.
    await watch.probe();
    expect(watch.problem()).toBeUndefined();
    release();
    await inFlight;
    watch.stop();
  });

  it('reads it as a hang once searches are in flight but nothing was answered for the stall window', async () => {
    const watch = watchWith(never, 30);
    await watch.track(async () => 'answered');
    const stuck = watch.track(never);
    await sleep(40);
    await watch.probe();
    expect(watch.problem()).toBe('no answer within 20 ms');
    void stuck;
    watch.stop();
  });

  it('does not count a failed search as an answer, nor one still in flight once it settled', async () => {
    const watch = watchWith(never, 10_000);
    await expect(
      watch.track(async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await watch.probe();
    expect(watch.problem()).toBe('no answer within 20 ms');
    watch.stop();
  });
});
