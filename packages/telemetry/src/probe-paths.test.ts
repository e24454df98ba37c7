import { describe, expect, it } from 'vitest';
import { isProbePath } from './probe-paths.js';

describe('isProbePath', () => {
  it('matches probes with or without a query string', () => {
    expect(isProbePath('/health')).toBe(true);
    expect(isProbePath('/health/ready?verbose=1')).toBe(true);
    expect(isProbePath('/metrics')).toBe(true);
  });

  it('does not match API routes that merely start like a probe', () => {
    expect(isProbePath('/healthz')).toBe(false);
    expect(isProbePath('/v1/search')).toBe(false);
  });
});
