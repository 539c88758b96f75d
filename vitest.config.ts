import { defineConfig } from 'vitest/config';
import { currentRuntime, unsupportedRuntimeNotice } from './src/runtime.js';

// `npm test` runs on the Node.js 22 that `npm ci` installed (ADR 0018); say so once when it does not.
const runtimeNotice = unsupportedRuntimeNotice(currentRuntime(), 'npm test');
if (runtimeNotice) console.warn(`agent-sts: ${runtimeNotice}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one PostgreSQL database: run files one after another.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
