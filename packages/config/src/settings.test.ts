import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { httpSettings, postgresSettings, serviceTokenSetting } from './base-settings.js';
import { ConfigError } from './parse-config.js';
import { defineConfig, group, optionalGroup, pathSetting, plain, secret } from './settings.js';

const config = defineConfig({
  http: httpSettings(8080),
  postgres: postgresSettings(),
  serviceToken: serviceTokenSetting,
  name: plain('NAME', z.string().min(1).default('rag')),
  dir: pathSetting('DATA_DIR', z.string().min(1, 'name the data folder'), { ifUnset: '' }),
  sso: optionalGroup('SSO_ISSUER', {
    issuer: plain('SSO_ISSUER', z.string()),
    key: secret('SSO_KEY', z.string().min(4)),
  }),
  limits: group({ max: plain('MAX', z.coerce.number().int().min(1).default(5)) }, (limits, ctx) => {
    if (limits.max > 100) ctx.addIssue({ code: 'custom', path: ['max'], message: 'at most 100' });
  }),
});

const token = 't'.repeat(32);

function problemsOf(env: Record<string, string>): string[] {
  try {
    config.load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('a config declared as a settings table', () => {
  it('maps every path to its variable', () => {
    expect(config.envNames).toMatchObject({
      'http.port': 'PORT',
      'postgres.url': 'DATABASE_URL',
      serviceToken: 'SERVICE_TOKEN',
      'sso.key': 'SSO_KEY',
      'limits.max': 'MAX',
    });
  });

  it('reads the variables, applies defaults and leaves an optional group out until its variable is set', () => {
    const loaded = config.load({ SERVICE_TOKEN: token, DATA_DIR: 'data', RAG_BASE_DIR: '/srv/rag' });
    expect(loaded.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      shutdownGraceMs: 10_000,
      shutdownDelayMs: 0,
    });
    expect(loaded.postgres.queryTimeoutMs).toBe(5_000);
    expect(loaded.dir).toBe('/srv/rag/data');
    expect(loaded.sso).toBeUndefined();
    expect(
      config.load({ SERVICE_TOKEN: token, DATA_DIR: '/d', SSO_ISSUER: 'https://id', SSO_KEY: 'k3y!' }).sso,
    ).toEqual({ issuer: 'https://id', key: 'k3y!' });
  });

  it('lists an unreadable secret with every other problem, and not again as missing', () => {
    const folder = mkdtempSync(join(tmpdir(), 'settings-'));
    writeFileSync(join(folder, 'db-url'), 'postgres://db/rag\n');
    const problems = problemsOf({
      SERVICE_TOKEN_FILE: '/nonexistent/service-token',
      DATABASE_URL: 'postgres://direct/rag',
      DATABASE_URL_FILE: join(folder, 'db-url'),
      SSO_ISSUER: 'https://id',
      SSO_KEY_FILE: 'sso-key',
      PORT: 'http',
      MAX: '500',
    });
    expect(problems).toEqual([
      'DATABASE_URL (postgres.url): DATABASE_URL_FILE is set too; set only one',
      expect.stringMatching(
        /^SERVICE_TOKEN_FILE \(serviceToken\): cannot read \/nonexistent\/service-token: /,
      ),
      expect.stringMatching(/^SSO_KEY_FILE \(sso\.key\): must be an absolute path.*RAG_BASE_DIR/),
      expect.stringMatching(/^PORT \(http\.port\): /),
      'DATA_DIR (dir): name the data folder',
      'MAX (limits.max): at most 100',
    ]);
    expect(problems.join('\n')).not.toMatch(/SERVICE_TOKEN \(serviceToken\)/);
  });

  it("runs a group's check once its settings are valid, and names the variable", () => {
    expect(problemsOf({ SERVICE_TOKEN: token, DATA_DIR: '/d', MAX: '500' })).toEqual([
      'MAX (limits.max): at most 100',
    ]);
  });

  it('reads a secret from its file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'settings-'));
    writeFileSync(join(folder, 'token'), `${token}\n`);
    expect(config.load({ SERVICE_TOKEN_FILE: join(folder, 'token'), DATA_DIR: '/d' }).serviceToken).toBe(
      token,
    );
  });
});
