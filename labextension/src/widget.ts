/**
 * The inline card under a `%%intern` cell, as an anywidget front end (an ES module the kernel ships in the
 * package, bundled from this file by `npm run build:card`). It renders the panel's own views (header, pending
 * approvals, plan, timeline: markdown, tools, jobs, metrics) from the turn's events folded by the panel's
 * reducer, so the cell and the side panel look and behave the same. Every button sends a typed command
 * `{v, id, command}` over the widget's comm; the kernel checks it with the same parser as the panel's comm
 * and hands it to the one dispatcher (approvals stay fail-closed there: nonce, hash, expiry).
 *
 * Kernel -> card: `{type: 'events', events}` (the turn's history on request, then new events as they happen);
 * `{type: 'reply', id, ok, message}`. Card -> kernel: `{type: 'history'}` once per view, and commands.
 */

import { PROTOCOL_VERSION, type Command } from './commands';
import { button, h } from './dom';
import type { SessionEvent } from './events';
import { initialState, reduce, type PanelState } from './reducer';
import { ApprovalsView, codeView } from './views/approvals';
import { renderHeader } from './views/header';
import { renderPlan } from './views/plan';
import { TimelineView } from './views/timeline';

/** The part of anywidget's model a view uses (the AFM `model` interface). */
export interface WidgetModel {
  get(name: string): unknown;
  send(content: unknown): void;
  on(name: string, callback: (...args: never[]) => void): void;
  off(name?: string | null, callback?: ((...args: never[]) => void) | null): void;
}

interface KernelMessage {
  type?: string;
  events?: SessionEvent[];
  id?: string;
  ok?: boolean;
  message?: string;
}

interface CellEntry {
  el: HTMLElement;
  insert: HTMLButtonElement;
  status: HTMLElement;
}

export class InlineCard {
  readonly node: HTMLElement;
  private state: PanelState;
  private lastSeq = 0;
  private seen = new Set<number>();
  private logged: SessionEvent[] = [];
  private initial: PanelState;
  private next = 0;
  private head = h('div', { className: 'mlintern-header', testid: 'mlintern-inline-header' });
  private status = h('div', {
    className: 'mlintern-status mlintern-status-info',
    testid: 'mlintern-inline-status'
  });
  private approvals: ApprovalsView;
  private timeline: TimelineView;
  private plan = h('div', { className: 'mlintern-plan', testid: 'mlintern-inline-plan' });
  private cells = h('div', { className: 'mlintern-inline-cells' });
  private cellEntries = new Map<string, CellEntry>();
  private stopButton: HTMLButtonElement;
  private timer: number;
  private onMessage = (message: KernelMessage) => this.receive(message);

  constructor(private model: WidgetModel) {
    const send = (command: Command) => this.send(command);
    this.approvals = new ApprovalsView({ send });
    this.timeline = new TimelineView({ send });
    this.timeline.node.classList.add('mlintern-inline-timeline');
    this.stopButton = button(
      'Stop',
      'mlintern-stop',
      () => {
        this.stopButton.disabled = true;
        this.send({ type: 'stop', turn_id: String(model.get('turn_id') ?? '') || null });
      },
      'mlintern-danger'
    );
    const base = initialState();
    this.initial = {
      ...base,
      header: {
        ...base.header,
        model: String(model.get('model') ?? ''),
        demo: Boolean(model.get('offline'))
      },
      turn: { ...base.turn, running: true }
    };
    this.state = this.initial;
    this.status.hidden = true;
    this.node = h(
      'div',
      { className: 'mlintern-inline', testid: 'mlintern-inline-card' },
      h('div', { className: 'mlintern-inline-top' }, this.stopButton, this.head),
      this.approvals.node,
      this.plan,
      this.timeline.node,
      this.cells,
      this.status
    );
    model.on('msg:custom', this.onMessage as never);
    this.timer = window.setInterval(() => this.approvals.tick(Date.now()), 1000);
    this.render();
    model.send({ type: 'history' });
  }

  dispose(): void {
    window.clearInterval(this.timer);
    this.model.off('msg:custom', this.onMessage as never);
  }

  private send(command: Command): void {
    this.next += 1;
    this.model.send({ v: PROTOCOL_VERSION, id: `card-${this.next}`, command });
  }

  receive(message: KernelMessage): void {
    if (message.type === 'reply') {
      this.status.hidden = !message.message;
      this.status.className = `mlintern-status mlintern-status-${message.ok ? 'info' : 'error'}`;
      this.status.textContent = message.message ?? '';
      if (!message.ok) {
        this.stopButton.disabled = !this.state.turn.running;
      }
      return;
    }
    if (message.type !== 'events' || !Array.isArray(message.events)) {
      return;
    }
    let state = this.state;
    let refold = false;
    for (const event of message.events) {
      const seq = event.seq ?? 0;
      if (seq > 0) {
        // The history and the live stream overlap and can arrive in either order (a view opened mid-turn, or
        // re-opened when the output is refreshed at the turn's end): each logged event folds once, in log order.
        if (this.seen.has(seq)) {
          continue;
        }
        this.seen.add(seq);
        this.logged.push(event);
        if (seq < this.lastSeq) {
          refold = true;
          continue;
        }
        this.lastSeq = seq;
      }
      state = reduce(state, event);
    }
    if (refold) {
      this.logged.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      state = this.logged.reduce(reduce, this.initial);
    }
    this.state = state;
    this.cellEvents();
    this.render();
  }

  /** Scripts the agent put in new cells: the text, and "Insert below" until a writer placed the cell. */
  private cellEvents(): void {
    for (const event of this.logged) {
      if (event.kind === 'cell_insert' && !this.cellEntries.has(event.call_id)) {
        const insert = button('Insert below', 'mlintern-cell-insert', () =>
          this.send({ type: 'insert_cell', session_id: event.session_id ?? '-', call_id: event.call_id })
        );
        const status = h(
          'span',
          { className: 'mlintern-muted' },
          event.script_path ? `saved as ${event.script_path}` : ''
        );
        const el = h(
          'div',
          {
            className: 'mlintern-card mlintern-cell',
            testid: 'mlintern-inline-cell',
            attrs: { 'data-call-id': event.call_id }
          },
          h(
            'div',
            { className: 'mlintern-card-head' },
            h('span', { className: 'mlintern-tool-name' }, `New ${event.cell_type ?? 'code'} cell`),
            status
          ),
          codeView(event.source),
          h('div', { className: 'mlintern-buttons' }, insert)
        );
        this.cellEntries.set(event.call_id, { el, insert, status });
        this.cells.appendChild(el);
      }
    }
    for (const event of this.logged) {
      const entry =
        event.kind === 'cell_placed' && event.how !== 'missing' && this.cellEntries.get(event.call_id);
      if (entry && event.kind === 'cell_placed') {
        entry.insert.disabled = true; // one copy per insertion
        entry.status.textContent = `placed in the notebook by the ${event.by}`;
      }
    }
  }

  private render(): void {
    const state = this.state;
    this.head.replaceChildren(renderHeader(state, 'turn'));
    this.approvals.update(state.approvals);
    this.plan.replaceChildren(renderPlan(state.plan));
    this.plan.hidden = state.plan.length === 0;
    this.timeline.update(state.timeline);
    if (!state.turn.running) {
      this.stopButton.disabled = true;
      this.stopButton.textContent = state.turn.lastReason === 'cancelled' ? 'Stopped' : 'Ended';
    }
  }
}

/** anywidget's entry point: one InlineCard per view of the widget; the returned function cleans it up. */
function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const card = new InlineCard(model);
  el.appendChild(card.node);
  return () => card.dispose();
}

export default { render };
