// A header button that shows a panel of secondary controls under it: the cluster toggles, a walk typed in,
// share and export. The disclosure pattern (a button with aria-expanded and aria-controls that shows and
// hides a labelled group), not an ARIA menu: the panels hold selects, inputs and buttons, which a menu's
// arrow-key model would hide from their own keys.
//
// The panel stays mounted while closed (`hidden`), so what it holds keeps its state: a "Link copied" note,
// an export's progress, the toggles' before/after line. Escape (from anywhere in it, except a dialog it
// opened) closes it and gives the button focus back; a press outside closes it. It is placed with
// position: fixed under its button and kept inside the viewport, so it never widens the page.
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

/** Space kept between the panel and the viewport's edges (px). */
const EDGE = 8;

export interface HeaderMenuProps {
  /** The button's text and the panel's accessible name. */
  readonly label: string;
  readonly children: ReactNode;
  /** A short note after the label (e.g. the CNI in use), muted; part of the button's name. */
  readonly detail?: string | undefined;
  /** Marks the button (a dot) when the panel holds a change from the scenario's own settings. */
  readonly changed?: boolean;
  /** Which edge of the button the panel lines up with. */
  readonly align?: 'start' | 'end';
  /** Controlled open state (optional); without it the menu keeps its own. */
  readonly open?: boolean;
  readonly onOpenChange?: (open: boolean) => void;
  readonly className?: string;
}

export function HeaderMenu({
  label,
  children,
  detail,
  changed = false,
  align = 'start',
  open: openProp,
  onOpenChange,
  className,
}: HeaderMenuProps) {
  const [ownOpen, setOwnOpen] = useState(false);
  const open = openProp ?? ownOpen;
  const setOpen = useCallback(
    (next: boolean) => {
      setOwnOpen(next);
      onOpenChange?.(next);
    },
    [onOpenChange],
  );
  const panelId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  // Under the button, inside the viewport; again when the window changes size or the page scrolls.
  useLayoutEffect(() => {
    if (!open) return;
    const place = () => {
      const b = button.current?.getBoundingClientRect();
      const p = panel.current;
      if (!b || !p) return;
      const width = p.offsetWidth;
      const wanted = align === 'end' ? b.right - width : b.left;
      const left = Math.max(EDGE, Math.min(wanted, window.innerWidth - width - EDGE));
      p.style.left = `${Math.round(left)}px`;
      p.style.top = `${Math.round(b.bottom + 4)}px`;
      p.style.maxHeight = `${Math.max(120, Math.round(window.innerHeight - b.bottom - 4 - EDGE))}px`;
    };
    place();
    window.addEventListener('resize', place);
    window.addEventListener('scroll', place, true);
    return () => {
      window.removeEventListener('resize', place);
      window.removeEventListener('scroll', place, true);
    };
  }, [open, align]);

  // A press outside closes it (one inside a dialog the panel opened is inside: the dialog is its child).
  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (e.target instanceof Node && root.current?.contains(e.target)) return;
      setOpen(false);
    };
    document.addEventListener('pointerdown', onDown);
    return () => document.removeEventListener('pointerdown', onDown);
  }, [open, setOpen]);

  return (
    <div
      ref={root}
      className={className ? `header-menu ${className}` : 'header-menu'}
      onKeyDown={(e) => {
        if (e.key !== 'Escape' || !open) return;
        // A dialog opened from the panel handles its own Escape.
        if (e.target instanceof Element && e.target.closest('dialog, [role="dialog"]')) return;
        e.preventDefault();
        setOpen(false);
        button.current?.focus();
      }}
    >
      <button
        ref={button}
        type="button"
        className="header-menu-button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        {label}
        {detail ? (
          <>
            {' '}
            <span className="header-menu-detail">{detail}</span>
          </>
        ) : null}
        {changed ? <span className="header-menu-changed" aria-hidden="true" /> : null}
        <svg className="header-menu-caret" viewBox="0 0 10 6" width="10" height="6" aria-hidden="true">
          <path d="M1 1l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      </button>
      <div
        ref={panel}
        id={panelId}
        className="header-menu-panel"
        role="group"
        aria-label={label}
        hidden={!open}
      >
        {children}
      </div>
    </div>
  );
}
