/**
 * The side panel: a view over PanelState plus the controls that send messages to the kernel.
 * It holds no session logic; `index.ts` wires it to a connection.
 */

import { Widget } from '@lumino/widgets';
import { button, h } from './dom';
import { initialState, type PanelState } from './reducer';
import { ApprovalsView, type ApprovalActions } from './views/approvals';
import type { CardActions } from './views/cards';
import { renderHeader } from './views/header';
import { renderPlan } from './views/plan';
import { renderSessions, type SessionActions, type SessionSummary } from './views/sessions';
import { TimelineView } from './views/timeline';

export interface PanelActions extends CardActions, ApprovalActions, SessionActions {
  prompt(text: string): void;
  stop(): void;
  setModel(model: string): void;
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
    this.stopButton = button('Stop', 'mlintern-stop', () => actions.stop(), 'mlintern-danger');

    this.planSection.append(h('summary', {}, 'Plan'), this.plan);
    const sessions = h(
      'details',
      { className: 'mlintern-section mlintern-sessions' },
      h('summary', {}, 'Sessions'),
      h(
        'div',
        { className: 'mlintern-buttons' },
        button('Refresh', 'mlintern-sessions-refresh', () => actions.refresh())
      ),
      this.sessionList
    );
    sessions.addEventListener('toggle', () => sessions.open && actions.refresh());

    this.node.append(
      this.header,
      this.status,
      this.approvals.node,
      this.planSection,
      this.timeline.node,
      h(
        'div',
        { className: 'mlintern-controls' },
        h(
          'div',
          { className: 'mlintern-row' },
          this.modelInput,
          button('Set model', 'mlintern-model-set', () => this.submitModel()),
          this.stopButton
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
    for (const el of [this.sendButton, this.promptInput, this.modelInput]) {
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

  private submitModel(): void {
    const model = this.modelInput.value.trim();
    if (model) {
      this.actions.setModel(model);
      this.modelInput.value = '';
    }
  }
}
