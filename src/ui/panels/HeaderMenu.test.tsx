// @vitest-environment jsdom
// The header's disclosure menus: the button says whether the panel is open, Escape and a press outside
// close it (Escape gives the button focus back), a dialog opened from the panel keeps its own Escape, and
// what the panel holds keeps its state while it is closed.
import { act, useState } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeaderMenu } from './HeaderMenu.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function Counter() {
  const [n, setN] = useState(0);
  return (
    <button type="button" className="count" onClick={() => setN(n + 1)}>
      {n}
    </button>
  );
}

describe('HeaderMenu', () => {
  let container: HTMLDivElement;
  let root: Root;
  const button = () => container.querySelector<HTMLButtonElement>('.header-menu-button')!;
  const panel = () => container.querySelector<HTMLDivElement>('.header-menu-panel')!;
  const key = (target: Element, k: string) =>
    act(() => {
      target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    });

  beforeEach(() => {
    container = document.createElement('div');
    document.body.append(container);
    root = createRoot(container);
    act(() =>
      root.render(
        <div>
          <p className="outside">outside</p>
          <HeaderMenu label="Share" detail="flannel-vxlan" changed>
            <Counter />
            <div role="dialog" aria-label="A dialog">
              <input className="in-dialog" />
            </div>
          </HeaderMenu>
        </div>,
      ),
    );
  });

  afterEach(() => {
    act(() => root.unmount());
    container.remove();
  });

  it('opens and closes with its button; the panel is a labelled group it controls', () => {
    expect(button().getAttribute('aria-expanded')).toBe('false');
    expect(panel().hidden).toBe(true);
    expect(button().getAttribute('aria-controls')).toBe(panel().id);
    expect(panel().getAttribute('role')).toBe('group');
    expect(panel().getAttribute('aria-label')).toBe('Share');
    expect(button().textContent).toBe('Share flannel-vxlan');
    act(() => button().click());
    expect(button().getAttribute('aria-expanded')).toBe('true');
    expect(panel().hidden).toBe(false);
    act(() => button().click());
    expect(panel().hidden).toBe(true);
  });

  it('Escape closes it and focuses the button; Escape in a dialog it opened does not', () => {
    act(() => button().click());
    key(container.querySelector('.in-dialog')!, 'Escape');
    expect(panel().hidden).toBe(false);
    key(container.querySelector('.count')!, 'Escape');
    expect(panel().hidden).toBe(true);
    expect(document.activeElement).toBe(button());
  });

  it('a press outside closes it, one inside does not; its content keeps its state while closed', () => {
    act(() => button().click());
    const count = container.querySelector<HTMLButtonElement>('.count')!;
    act(() => {
      count.dispatchEvent(new Event('pointerdown', { bubbles: true }));
      count.click();
    });
    expect(panel().hidden).toBe(false);
    expect(count.textContent).toBe('1');
    act(() => {
      container.querySelector('.outside')!.dispatchEvent(new Event('pointerdown', { bubbles: true }));
    });
    expect(panel().hidden).toBe(true);
    act(() => button().click());
    expect(container.querySelector('.count')!.textContent).toBe('1');
  });
});
