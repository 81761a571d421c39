import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_PRESET_ID, PRESETS } from './scenario/presets.ts';
import { App } from './ui/App.tsx';
import { startLanguage } from './ui/i18n/browser.ts';
import { decodeShareState, paramsOf, readViewOptions } from './ui/share/urlState.ts';
import { createEngineClient } from './worker/engineClient.ts';
import './ui/styles.css';
import './ui/import/import.css';

const client = createEngineClient(
  () =>
    new Worker(new URL('./worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'packet-walk-engine',
    }),
);

// The share link (state in the fragment, view options in the query): decoded once, at start.
const params = paramsOf(window.location.search, window.location.hash);
const link = decodeShareState(
  params,
  PRESETS.map((p) => p.id),
);
const viewOptions = readViewOptions(params);
// A link pasted into the address bar of an open page changes only the fragment: start again from it. (The
// app's own updates use history.replaceState, which fires no hashchange.)
window.addEventListener('hashchange', () => window.location.reload());
if (viewOptions.embed) document.documentElement.classList.add('embedded');
// Before the first render, so the page never flashes in another language.
startLanguage();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App
      client={client}
      presets={PRESETS}
      initialPresetId={DEFAULT_PRESET_ID}
      link={link}
      viewOptions={viewOptions}
    />
  </StrictMode>,
);
