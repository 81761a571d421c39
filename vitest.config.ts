import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // Node by default; files that need a DOM opt in with `// @vitest-environment jsdom`.
    environment: 'node',
  },
});
