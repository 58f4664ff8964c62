/**
 * The side panel: a view over PanelState plus the controls that send messages to the kernel.
 * It holds no session logic; `index.ts` wires it to a connection.
 */

import { Widget } from '@lumino/widgets';
import { commandProblem, type Command } from './commands';
import { button, h } from './dom';
import { initialState, type PanelState } from './reducer';
import { ApprovalsView, type ApprovalActions } from './views/approvals';
import type { CardActions } from './views/cards';
import { renderHeader } from './views/header';
import { renderPlan } from './views/plan';
import { renderSessions, type SessionActions, type SessionSummary } from './views/sessions';
import { TimelineView } from './views/timeline';

/** Everything the panel does goes out as a typed command (`send`); a prompt also names the active cell. */
export interface PanelActions extends CardActions, ApprovalActions, SessionActions {
  send(command: Command): void;
  prompt(text: string): void;
}

const APPROVE_MODES = ['ask', 'auto', 'deny'] as const;
const EFFORTS = ['low', 'medium', 'high', 'max', 'none'] as const;

function select(testid: string, label: string, options: readonly string[], onChange: (v: string) => void) {
  const el = h(
    'select',
    {
      className: 'jp-mod-styled mlintern-select',
      testid,
      attrs: { 'aria-label': label, title: label },
      on: { change: () => onChange(el.value) }
    },
    ...options.map(o => h('option', { attrs: { value: o } }, o))
  );
  return el;
}

export type StatusLevel = 'ok' | 'info' | 'warning' | 'error';

export class MlinternPanel extends Widget {
  private state: PanelState = initialState();
  private sessions: SessionSummary[] = [];
  private header = h('div', {
    className: 'mlintern-header',
    testid: 'mlintern-header'
  });
  private status = h('div', {
    className: 'mlintern-status',
    testid: 'mlintern-status'
  });
  private approvals: ApprovalsView;
  private timeline: TimelineView;
  private plan = h('div', { className: 'mlintern-plan-body' });
  private planSection = h('details', {
    className: 'mlintern-section mlintern-plan',
    testid: 'mlintern-plan',
    attrs: { open: '' }
  });
  private sessionList = h('div', {
    className: 'mlintern-sessions-body',
    testid: 'mlintern-sessions'
  });
  private promptInput: HTMLTextAreaElement;
  private modelInput: HTMLInputElement;
  private approveSelect: HTMLSelectElement;
  private effortSelect: HTMLSelectElement;
  private budgetInput: HTMLInputElement;
  private settingsButtons: HTMLButtonElement[];
  private stopButton: HTMLButtonElement;
  private sendButton: HTMLButtonElement;
  private timer: number | undefined;

  constructor(private actions: PanelActions) {
    super();
    this.id = 'mlintern-panel';
    this.addClass('mlintern-panel');
    this.node.dataset.testid = 'mlintern-panel';
    this.title.caption = 'ML Intern';

    this.approvals = new ApprovalsView(actions);
    this.timeline = new TimelineView(actions);

    this.modelInput = h('input', {
      className: 'jp-mod-styled mlintern-model-input',
      testid: 'mlintern-model-input',
      attrs: {
        type: 'text',
        placeholder: 'model id',
        'aria-label': 'Model'
      },
      on: { keydown: e => e.key === 'Enter' && this.submitModel() }
    });
    this.promptInput = h('textarea', {
      className: 'jp-mod-styled mlintern-prompt-input',
      testid: 'mlintern-prompt-input',
      attrs: {
        rows: '3',
        placeholder: 'Ask the intern… (Ctrl+Enter to send)',
        'aria-label': 'Prompt'
      },
      on: {
        keydown: e => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            this.submitPrompt();
          }
        }
      }
    });
    this.sendButton = button('Send', 'mlintern-prompt-send', () => this.submitPrompt(), 'mlintern-accept');
    this.stopButton = button(
      'Stop',
      'mlintern-stop',
      () => actions.send({ type: 'stop' }),
      'mlintern-danger'
    );
    this.approveSelect = select('mlintern-approve-mode-select', 'Approve mode', APPROVE_MODES, mode =>
      this.submit({ type: 'set_approve_mode', mode: mode as (typeof APPROVE_MODES)[number] })
    );
    this.effortSelect = select('mlintern-effort-select', 'Reasoning effort', EFFORTS, effort =>
      this.submit({ type: 'set_effort', effort: effort as (typeof EFFORTS)[number] })
    );
    this.budgetInput = h('input', {
      className: 'jp-mod-styled mlintern-budget-input',
      testid: 'mlintern-budget-input',
      attrs: {
        type: 'text',
        inputmode: 'decimal',
        placeholder: 'USD (empty: no cap)',
        'aria-label': 'Budget'
      },
      on: { keydown: e => e.key === 'Enter' && this.submitBudget() }
    });
    const budgetButton = button('Set budget', 'mlintern-budget-set', () => this.submitBudget());
    const modelButton = button('Set model', 'mlintern-model-set', () => this.submitModel());
    this.settingsButtons = [budgetButton, modelButton];

    this.planSection.append(h('summary', {}, 'Plan'), this.plan);
    const sessions = h(
      'details',
      { className: 'mlintern-section mlintern-sessions' },
      h('summary', {}, 'Sessions'),
      h(
        'div',
        { className: 'mlintern-buttons' },
        button('Refresh', 'mlintern-sessions-refresh', () => actions.send({ type: 'sessions', limit: 50 }))
      ),
      this.sessionList
    );
    sessions.addEventListener('toggle', () => sessions.open && actions.send({ type: 'sessions', limit: 50 }));

    this.node.append(
      this.header,
      this.status,
      this.approvals.node,
      this.planSection,
      this.timeline.node,
      h(
        'div',
        { className: 'mlintern-controls' },
        h('div', { className: 'mlintern-row' }, this.modelInput, modelButton, this.stopButton),
        h(
          'div',
          { className: 'mlintern-row mlintern-settings', testid: 'mlintern-settings' },
          h('label', { className: 'mlintern-muted' }, 'approve ', this.approveSelect),
          h('label', { className: 'mlintern-muted' }, 'effort ', this.effortSelect),
          this.budgetInput,
          budgetButton
        ),
        h('div', { className: 'mlintern-row' }, this.promptInput, this.sendButton)
      ),
      sessions
    );
    this.render();
  }

  setState(state: PanelState): void {
    const previous = this.state;
    this.state = state;
    this.render(previous);
  }

  setSessions(sessions: SessionSummary[]): void {
    this.sessions = sessions;
    this.sessionList.replaceChildren(renderSessions(sessions, this.state.header.sessionId, this.actions));
  }

  setStatus(level: StatusLevel, text: string): void {
    this.status.className = `mlintern-status mlintern-status-${level}`;
    this.status.textContent = text;
    this.status.hidden = text === '';
  }

  /** Controls that talk to the kernel only work with a live comm. */
  setConnected(connected: boolean): void {
    this.node.classList.toggle('mlintern-disconnected', !connected);
    for (const el of [
      this.sendButton,
      this.promptInput,
      this.modelInput,
      this.approveSelect,
      this.effortSelect,
      this.budgetInput,
      ...this.settingsButtons
    ]) {
      el.disabled = !connected;
    }
    this.stopButton.disabled = !connected || !this.state.turn.running;
  }

  protected onAfterAttach(): void {
    this.timer = window.setInterval(() => this.approvals.tick(Date.now()), 1000);
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this.timer);
  }

  private render(previous?: PanelState): void {
    const state = this.state;
    this.header.replaceChildren(renderHeader(state));
    this.approvals.update(state.approvals);
    if (!previous || previous.plan !== state.plan) {
      this.plan.replaceChildren(renderPlan(state.plan));
      this.planSection.hidden = state.plan.length === 0;
    }
    this.timeline.update(state.timeline);
    // The session's settings, unless the person is choosing one right now.
    if (document.activeElement !== this.approveSelect) {
      this.approveSelect.value = state.header.approveMode || 'ask';
    }
    if (document.activeElement !== this.effortSelect) {
      this.effortSelect.value = state.header.effort ?? 'none';
    }
    this.stopButton.disabled = this.node.classList.contains('mlintern-disconnected') || !state.turn.running;
    if (!previous || previous.header.sessionId !== state.header.sessionId) {
      this.setSessions(this.sessions);
    }
  }

  private submitPrompt(): void {
    const text = this.promptInput.value.trim();
    if (text) {
      this.actions.prompt(text);
      this.promptInput.value = '';
    }
  }

  /** Checked here with the kernel's own rules (generated), so a typo is named before anything is sent. */
  private submit(command: Command): boolean {
    const problem = commandProblem(command);
    if (problem) {
      this.setStatus('error', problem);
      return false;
    }
    this.actions.send(command);
    return true;
  }

  private submitModel(): void {
    const model = this.modelInput.value.trim();
    if (model && this.submit({ type: 'set_model', model })) {
      this.modelInput.value = '';
    }
  }

  private submitBudget(): void {
    const text = this.budgetInput.value.trim();
    const usd = text === '' ? null : Number(text);
    if (usd !== null && Number.isNaN(usd)) {
      this.setStatus('error', `budget must be a number of USD (got ${text})`);
      return;
    }
    if (this.submit({ type: 'set_budget', usd })) {
      this.budgetInput.value = '';
    }
  }
}
