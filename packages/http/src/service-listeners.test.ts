import { describe, expect, it } from 'vitest';
import { managementPortFor } from './service-listeners.js';

describe('the management port', () => {
  it('is PORT + 1000 unless MANAGEMENT_PORT is set', () => {
    expect(managementPortFor({ host: '0.0.0.0', port: 8080 })).toBe(9080);
    expect(managementPortFor({ host: '0.0.0.0', port: 8080, managementPort: 9999 })).toBe(9999);
  });

  it('is a free one when the public port is', () => {
    expect(managementPortFor({ host: '127.0.0.1', port: 0 })).toBe(0);
  });

  it('refuses a clash with PORT and a port beyond 65535, naming MANAGEMENT_PORT', () => {
    expect(() => managementPortFor({ host: 'h', port: 8080, managementPort: 8080 })).toThrow(
      /MANAGEMENT_PORT/,
    );
    expect(() => managementPortFor({ host: 'h', port: 65000 })).toThrow(/MANAGEMENT_PORT/);
  });
});
