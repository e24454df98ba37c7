import { defaultClientConditions, defineConfig } from 'vite';

// Served by the gateway at /console/; workspace packages are bundled from their TypeScript sources.
export default defineConfig({
  base: '/console/',
  resolve: { conditions: ['@rag/source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    // `pnpm --filter @rag/console dev` against a running stack: the API stays same-origin through the proxy.
    proxy: { '/v1': process.env.RAG_URL ?? 'http://127.0.0.1:8080' },
  },
});
