// Golden text traces: every named walk of every built-in scenario, as formatTrace prints it.
// A change in the engine that changes a path shows up here as a readable diff; accept it with
// `npm run test:update` after reading it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWorld, formatTrace, walk } from '../src/engine/index.ts';
import { parseScenario } from '../src/scenario/parse.ts';

const presetDir = join(import.meta.dirname, '..', 'src', 'scenario', 'presets');
const presets = readdirSync(presetDir).filter((f) => f.endsWith('.yaml'));

describe.each(presets)('built-in scenario %s', (file) => {
  const parsed = parseScenario(readFileSync(join(presetDir, file), 'utf8'));
  if (!parsed.ok) throw new Error(`${file} does not parse: ${JSON.stringify(parsed.errors)}`);
  const model = parsed.model;
  const id = file.replace(/\.yaml$/, '');

  it('has named walks', () => {
    expect(model.walks.length).toBeGreaterThan(0);
  });

  it.each(model.walks.map((w) => [w.name, w] as const))(
    'walk %s matches its golden trace',
    async (_name, w) => {
      const trace = walk(buildWorld(model), {
        from: w.from,
        to: w.to,
        protocol: w.protocol,
        ...(w.size !== null ? { size: w.size } : {}),
      });
      await expect(formatTrace(trace)).toMatchFileSnapshot(join('golden', id, `${w.name}.trace.txt`));
    },
  );
});
