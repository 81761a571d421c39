import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_PRESET_ID, PRESETS } from './scenario/presets.ts';
import { App } from './ui/App.tsx';
import { createEngineClient } from './worker/engineClient.ts';
import './ui/styles.css';

const client = createEngineClient(
  () =>
    new Worker(new URL('./worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'packet-walk-engine',
    }),
);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App client={client} presets={PRESETS} initialPresetId={DEFAULT_PRESET_ID} />
  </StrictMode>,
);
