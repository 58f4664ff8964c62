import type { Command } from '../commands';
import { button, formatUsd, h } from '../dom';

export interface SessionSummary {
  session_id: string;
  first_prompt: string;
  model: string;
  cost_usd: number | null;
  state: string;
  updated: string;
}

export interface SessionActions {
  send(command: Command): void;
  /** Asks where to write the notebook, then sends `export`. */
  exportSession(sessionId: string): void;
}

export function isSessionSummary(x: unknown): x is SessionSummary {
  const s = x as SessionSummary;
  return typeof x === 'object' && x !== null && typeof s.session_id === 'string';
}

export function renderSessions(
  sessions: SessionSummary[],
  current: string,
  actions: SessionActions
): HTMLElement {
  if (sessions.length === 0) {
    return h('div', { className: 'mlintern-muted' }, 'No past sessions listed yet.');
  }
  return h(
    'ul',
    { className: 'mlintern-session-list' },
    ...sessions.map(s =>
      h(
        'li',
        {
          className: `mlintern-session${s.session_id === current ? ' mlintern-current' : ''}`,
          testid: 'mlintern-session',
          attrs: { 'data-session-id': s.session_id }
        },
        h(
          'div',
          { className: 'mlintern-session-prompt', title: s.session_id },
          s.first_prompt || s.session_id
        ),
        h(
          'div',
          { className: 'mlintern-muted' },
          [s.model, s.state, formatUsd(s.cost_usd), s.updated].filter(Boolean).join(' · ')
        ),
        h(
          'div',
          { className: 'mlintern-buttons' },
          button('Resume', 'mlintern-session-resume', () =>
            actions.send({ type: 'resume', session_id: s.session_id })
          ),
          button('Export', 'mlintern-session-export', () => actions.exportSession(s.session_id))
        )
      )
    )
  );
}
