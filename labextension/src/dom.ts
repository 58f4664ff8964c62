/**
 * A tiny element builder. Strings become text nodes, so nothing passed here is ever parsed as HTML.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  className?: string;
  testid?: string;
  title?: string;
  attrs?: Record<string, string>;
  on?: {
    [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void;
  };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className) {
    el.className = props.className;
  }
  if (props.testid) {
    el.dataset.testid = props.testid;
  }
  if (props.title) {
    el.title = props.title;
  }
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    el.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) {
    el.addEventListener(type, listener as EventListener);
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function button(
  label: string,
  testid: string,
  onClick: () => void,
  className = ''
): HTMLButtonElement {
  return h(
    'button',
    {
      className: `jp-mod-styled mlintern-button ${className}`.trim(),
      testid,
      attrs: { type: 'button' },
      on: { click: () => onClick() }
    },
    label
  );
}

export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return `$${value.toFixed(value !== 0 && Math.abs(value) < 0.1 ? 3 : 2)}`;
}

export function formatCount(value: number): string {
  if (value >= 1_000_000) {
    return `${(value / 1_000_000).toFixed(1)}M`;
  }
  if (value >= 1000) {
    return `${(value / 1000).toFixed(1)}k`;
  }
  return String(value);
}

export function formatPercent(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}

/** "4m 05s" until `expiresAt`, or "expired". */
export function formatCountdown(expiresAt: string, now: number): string {
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) {
    return expiresAt;
  }
  const seconds = Math.floor((end - now) / 1000);
  if (seconds <= 0) {
    return 'expired';
  }
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}
