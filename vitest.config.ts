import { defineConfig } from 'vitest/config';

// Tests import workspace packages from src through the "@rag/source" export condition, so no build is
// needed for unit and integration tests; the e2e project runs the built services as processes.
const sourceConditions = ['@rag/source', 'node', 'development|production'];
const resolve = { conditions: sourceConditions };
const ssr = { resolve: { conditions: sourceConditions, externalConditions: ['@rag/source'] } };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          // Projects run one after another (unit, integration, e2e): two cores cannot host them all at once.
          sequence: { groupOrder: 0 },
          include: ['{apps,packages}/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['{apps,packages}/*/src/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: each worker brings its own Milvus Lite, schema and Redis prefix.
          maxWorkers: 2,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['tests/e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
          maxWorkers: 1,
        },
      },
    ],
  },
});
