import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // Node by default; files that need a DOM opt in with `// @vitest-environment jsdom`.
    environment: 'node',
    // Vitest's default is one worker less than the cores: one worker on the project's 2-core machines, every
    // file after the other. The kernel conformance files spend most of their time waiting (on namespaces,
    // tcpdump, tshark, a reply that never comes), so three files at a time keep both cores busy.
    maxWorkers: 3,
  },
});
