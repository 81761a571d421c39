// Keyboard shortcuts for playback: Space play/pause, ←/→ step, Home restart, End jump to the end. Keys
// typed into form fields are theirs, and Space on a focused button is the button's.
import { useEffect } from 'react';
import type { PlaybackActor } from './context.ts';
import type { PlaybackEvent } from './playbackMachine.ts';

export const SHORTCUTS: Readonly<Record<string, PlaybackEvent>> = {
  ' ': { type: 'toggle' },
  ArrowRight: { type: 'step' },
  ArrowLeft: { type: 'stepBack' },
  Home: { type: 'restart' },
  End: { type: 'end' },
};

export function useKeyboard(playback: PlaybackActor): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const event = SHORTCUTS[e.key];
      if (!event) return;
      const target = e.target instanceof Element ? e.target : null;
      if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
      if (e.key === ' ' && target?.closest('button, a[href], summary')) return;
      e.preventDefault();
      playback.send(event);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [playback]);
}
