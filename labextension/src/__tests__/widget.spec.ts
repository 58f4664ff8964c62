import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION } from '../commands';
import { isSessionEvent, type SessionEvent } from '../events';
import widget, { InlineCard, type WidgetModel } from '../widget';
import { actionFields, summaryRows } from '../views/approvals';
import { fixtureLines } from './fixture';

/** anywidget's model as a view sees it: traits, custom messages both ways. */
function fakeModel(traits: Record<string, unknown> = { model: 'demo', offline: true, turn_id: 't1' }) {
  const listeners: Array<(message: unknown) => void> = [];
  const model = {
    get: (name: string) => traits[name],
    send: vi.fn(),
    on: (name: string, callback: (message: unknown) => void) => {
      if (name === 'msg:custom') {
        listeners.push(callback);
      }
    },
    off: vi.fn(),
    deliver: (message: unknown) => listeners.forEach(l => l(message))
  };
  return model as typeof model & WidgetModel;
}

const byTestId = (root: HTMLElement, id: string) =>
  Array.from(root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`));

const events = fixtureLines().filter(isSessionEvent);
const pendingIndex = events.findIndex(e => e.kind === 'approval_resolved');

let cleanup: (() => void) | null = null;
afterEach(() => {
  vi.useRealTimers();
  cleanup?.();
  cleanup = null;
  document.body.replaceChildren();
});

function mount(model = fakeModel()) {
  const el = document.createElement('div');
  document.body.appendChild(el);
  cleanup = widget.render({ model, el });
  return { model, el };
}

describe('the inline card (anywidget)', () => {
  it('asks for the history, then renders the panel views from the events', () => {
    const { model, el } = mount();
    expect(model.send).toHaveBeenCalledWith({ type: 'history' });
    model.deliver({ type: 'events', events: events.slice(0, pendingIndex) });
    expect(byTestId(el, 'mlintern-assistant-text')[0].querySelector('strong')?.textContent).toBe(
      'inspecting'
    );
    expect(byTestId(el, 'mlintern-approval-card')).toHaveLength(1);
    expect(byTestId(el, 'mlintern-todo')).toHaveLength(3);
    expect(byTestId(el, 'mlintern-model')[0].textContent).toBe('anthropic/claude-sonnet-4-5');
  });

  it('sends a versioned approve command and shows the kernel reply', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-01T12:05:00.000Z')); // the fixture's approval expires at 12:10
    const { model, el } = mount();
    model.deliver({ type: 'events', events: events.slice(0, pendingIndex) });
    byTestId(el, 'mlintern-approve')[0].click();
    const [[message]] = model.send.mock.calls.slice(-1);
    expect(message).toEqual({
      v: PROTOCOL_VERSION,
      id: 'card-1',
      command: { type: 'approve', nonce: 'n-7f3e9a', feedback: '' }
    });
    expect(byTestId(el, 'mlintern-deny')[0]).toHaveProperty('disabled', true);
    model.deliver({ type: 'reply', id: 'card-1', ok: false, message: 'this approval has expired' });
    expect(byTestId(el, 'mlintern-inline-status')[0].textContent).toBe('this approval has expired');
  });

  it('folds each logged event once and in log order, whichever of history and live arrives first', () => {
    const { model, el } = mount();
    const rest = events.slice(pendingIndex);
    model.deliver({ type: 'events', events: rest }); // live events first (a view re-opened at the turn's end)
    model.deliver({ type: 'events', events }); // then the whole history
    model.deliver({ type: 'events', events }); // and again (a second history request)
    const card = new InlineCard(fakeModel());
    card.receive({ type: 'events', events });
    expect(el.querySelector('.mlintern-inline-timeline')?.innerHTML).toBe(
      card.node.querySelector('.mlintern-inline-timeline')?.innerHTML
    );
    expect(byTestId(el, 'mlintern-approval-card')).toHaveLength(0); // resolved in the log
    card.dispose();
  });

  it('disables Stop when the turn ended and says how', () => {
    const { model, el } = mount();
    const ended: SessionEvent = { kind: 'turn_ended', reason: 'cancelled', seq: 99 } as SessionEvent;
    model.deliver({ type: 'events', events: [...events.slice(0, 3), ended] });
    const stop = byTestId(el, 'mlintern-stop')[0];
    expect(stop).toHaveProperty('disabled', true);
    expect(stop.textContent).toBe('Stopped');
  });
});

describe('approval summary', () => {
  const approval = {
    call_id: 'c1',
    nonce: 'n',
    action_sha256: 'ab'.repeat(32),
    cost_usd: 1.5,
    budget_left_usd: 8.5,
    expires_at: '2030-01-01T00:00:00Z',
    tool: 'hf_jobs',
    action: {
      tool: 'hf_jobs',
      operation: 'uv',
      hardware_flavor: 'a10g-small',
      timeout_s: 3600,
      script: 'print(1)',
      arguments_json: '{"dependencies": ["trl"], "env": {}}'
    }
  } as never;

  it('says what runs where, for how long, at what worst-case cost and with how much budget left', () => {
    expect(summaryRows(approval)).toEqual([
      ['tool', 'hf_jobs'],
      ['operation', 'uv'],
      ['hardware', 'a10g-small'],
      ['timeout', '1 h'],
      ['worst case', '$1.50'],
      ['budget left', '$8.50']
    ]);
  });

  it('expands arguments_json into fields instead of showing a raw JSON row', () => {
    const fields = actionFields(approval);
    expect(fields).toMatchObject({ operation: 'uv', dependencies: ['trl'] });
    expect(fields).not.toHaveProperty('arguments_json');
    expect(fields).not.toHaveProperty('env'); // empty: unused
  });
});
