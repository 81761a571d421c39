// Playback controls: real buttons with the accessible names the keyboard help and tests use.
import { useTranslation } from 'react-i18next';
import { SPEEDS } from '../playbackMachine.ts';
import { useAppState, useCursor, useMode, useServices, useSpeed } from '../context.ts';
import { shownNumber } from '../present.ts';

export function Controls() {
  const { t } = useTranslation();
  const { playback } = useServices();
  const cursor = useCursor();
  const mode = useMode();
  const speed = useSpeed();
  const length = useAppState((s) => s.run?.events.length ?? 0);
  const playing = mode === 'playing';
  const atStart = cursor <= 0;
  const atEnd = length === 0 || cursor >= length - 1;

  return (
    <div className="controls" role="toolbar" aria-label={t('controls.toolbar')}>
      <button
        type="button"
        aria-label={t('controls.restart')}
        title={t('controls.restartTitle')}
        onClick={() => playback.send({ type: 'restart' })}
        disabled={atStart && mode === 'idle'}
      >
        <Icon d="M5 4h2.5v16H5zM20 4v16L9 12z" />
      </button>
      <button
        type="button"
        aria-label={t('controls.stepBack')}
        title={t('controls.stepBackTitle')}
        onClick={() => playback.send({ type: 'stepBack' })}
        disabled={atStart}
      >
        <Icon d="M17 4v16L6 12z" />
      </button>
      <button
        type="button"
        className="primary"
        aria-label={playing ? t('controls.pause') : t('controls.play')}
        title={playing ? t('controls.pauseTitle') : t('controls.playTitle')}
        onClick={() => playback.send({ type: playing ? 'pause' : 'play' })}
      >
        <Icon d={playing ? 'M6 4h4v16H6zM14 4h4v16h-4z' : 'M7 4v16l13-8z'} />
        <span className="button-text">{playing ? t('controls.pause') : t('controls.play')}</span>
      </button>
      <button
        type="button"
        aria-label={t('controls.stepForward')}
        title={t('controls.stepForwardTitle')}
        onClick={() => playback.send({ type: 'step' })}
        disabled={atEnd}
      >
        <Icon d="M7 4v16l11-8z" />
      </button>
      <label className="speed">
        <span>{t('controls.speed')}</span>
        <select
          value={speed}
          onChange={(e) => playback.send({ type: 'setSpeed', speed: Number(e.target.value) })}
        >
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <span className="position" aria-label={t('controls.position')}>
        {length === 0 ? '0 / 0' : `${shownNumber(cursor)} / ${length}`}
      </span>
    </div>
  );
}

/** A 24×24 glyph drawn as a path: font icons (⏮ ⏵) are missing from many system fonts. */
function Icon({ d }: { d: string }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">
      <path d={d} fill="currentColor" />
    </svg>
  );
}
