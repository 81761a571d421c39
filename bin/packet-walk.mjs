#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx packet-walk` works on a fresh clone without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
