import { formatCount, formatPercent, formatUsd, h } from '../dom';
import type { PanelState } from '../reducer';

function stat(label: string, value: string, testid: string): HTMLElement {
  return h(
    'div',
    { className: 'mlintern-stat', testid },
    h('span', { className: 'mlintern-stat-label' }, label),
    h('span', { className: 'mlintern-stat-value' }, value)
  );
}

function turnText(state: PanelState): string {
  if (state.sessionEnded) {
    return 'session ended';
  }
  const retry = state.header.retry;
  if (state.turn.running && retry) {
    return `retrying in ${retry.secondsLeft} s (${retry.reason})`;
  }
  if (state.turn.running) {
    return 'running';
  }
  return state.turn.lastReason ? `idle (${state.turn.lastReason.replace(/_/g, ' ')})` : 'idle';
}

/** The session's effort, and what the current model gets when it accepted less. */
export function effortText(state: PanelState): string {
  const { effort, effortCaps, model } = state.header;
  if (!effort) {
    return 'none';
  }
  if (Object.hasOwn(effortCaps, model)) {
    const cap = effortCaps[model];
    const order = ['low', 'medium', 'high', 'max'];
    if (cap === null) {
      return `${effort} (this model: none)`;
    }
    if (order.indexOf(cap) < order.indexOf(effort)) {
      return `${effort} (this model: ${cap})`;
    }
  }
  return effort;
}

export function costText(state: PanelState): string {
  const { costUsd, unpricedCalls } = state.header;
  if (!unpricedCalls) {
    return formatUsd(costUsd);
  }
  return costUsd > 0 ? `${formatUsd(costUsd)} + unknown` : 'unknown';
}

/**
 * The header. `scope: 'turn'` (the inline card under one cell) leaves out the session's settings (approve mode,
 * effort, budget): a turn's events do not carry them, and the side panel shows them for the whole session.
 */
export function renderHeader(state: PanelState, scope: 'session' | 'turn' = 'session'): HTMLElement {
  const { header } = state;
  const budget = header.budget;
  const budgetText = budget
    ? `${formatUsd(budget.usedUsd)} of ${budget.capUsd === null ? 'no cap' : formatUsd(budget.capUsd)}` +
      (budget.leftUsd === null ? '' : ` · ${formatUsd(budget.leftUsd)} left`)
    : 'no cap';
  return h(
    'div',
    { className: 'mlintern-header-body' },
    h(
      'div',
      { className: 'mlintern-header-title' },
      h('span', { className: 'mlintern-model', testid: 'mlintern-model' }, header.model || 'no session'),
      header.demo ? h('span', { className: 'mlintern-badge mlintern-badge-demo' }, 'demo model') : null,
      h(
        'span',
        {
          className: `mlintern-badge mlintern-turn-${state.turn.running ? 'running' : 'idle'}`,
          testid: 'mlintern-turn'
        },
        turnText(state)
      )
    ),
    h(
      'div',
      { className: 'mlintern-stats' },
      scope === 'session' ? stat('approve', header.approveMode, 'mlintern-approve-mode') : null,
      scope === 'session' ? stat('effort', effortText(state), 'mlintern-effort') : null,
      scope === 'session' ? stat('budget', budgetText, 'mlintern-budget') : null,
      stat(
        'tokens',
        `${formatCount(header.tokens.prompt)} in · ${formatCount(header.tokens.completion)} out`,
        'mlintern-tokens'
      ),
      stat('cache hit', formatPercent(header.cacheHitShare), 'mlintern-cache'),
      stat('cost', costText(state), 'mlintern-cost')
    ),
    header.sessionId
      ? h('div', { className: 'mlintern-session-id', title: header.sessionId }, `session ${header.sessionId}`)
      : null
  );
}
