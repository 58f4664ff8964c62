import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSessionEvent, type SessionEvent } from '../events';
import { MlinternPanel, type PanelActions } from '../panel';
import { reduce, reduceAll } from '../reducer';
import { actionText } from '../views/approvals';
import { fixtureLines } from './fixture';

function actions() {
  return {
    send: vi.fn(),
    prompt: vi.fn(),
    exportSession: vi.fn()
  } satisfies PanelActions;
}

const byTestId = (root: HTMLElement, id: string) =>
  Array.from(root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`));

// Everything up to (not including) approval_resolved: the approval is still pending.
const events = fixtureLines().filter(isSessionEvent);
const pendingIndex = events.findIndex(e => e.kind === 'approval_resolved');

let panel: MlinternPanel | null = null;
afterEach(() => {
  panel?.dispose();
  panel = null;
  vi.useRealTimers();
});

/** The fixture's approval expires at 12:10; pretend it is 12:05. */
function beforeExpiry(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2025-01-01T12:05:00.000Z'));
}

function mount(a: PanelActions, history: SessionEvent[]): MlinternPanel {
  panel = new MlinternPanel(a);
  Widget.attach(panel, document.body);
  panel.setConnected(true);
  panel.setState(reduceAll(history));
  return panel;
}

describe('MlinternPanel', () => {
  it('renders header, timeline, plan and a pending approval', () => {
    const p = mount(actions(), events.slice(0, pendingIndex));
    expect(byTestId(p.node, 'mlintern-model')[0].textContent).toBe('anthropic/claude-sonnet-4-5');
    expect(byTestId(p.node, 'mlintern-assistant-text')[0].querySelector('strong')?.textContent).toBe(
      'inspecting'
    );
    expect(byTestId(p.node, 'mlintern-tool-card')).toHaveLength(1);
    expect(byTestId(p.node, 'mlintern-todo')).toHaveLength(3);
    const card = byTestId(p.node, 'mlintern-approval-card')[0];
    expect(card.querySelector('[data-testid="mlintern-action-text"]')?.textContent).toContain(
      "print('training distilbert on imdb')"
    );
    expect(card.querySelector('[data-testid="mlintern-approval-hash"]')?.textContent).toBe(
      'sha256 9f2c4e1b0000'
    );
    // Pre-launch checks are shown as text, one warning a line.
    expect(card.querySelector('[data-testid="mlintern-approval-checks"]')?.textContent).toBe(
      'warning: the script trains but never pushes: the trained model is lost when the job ends'
    );
    expect(byTestId(p.node, 'mlintern-stop')[0]).toHaveProperty('disabled', false);
  });

  it('sends approval with feedback and keeps typed feedback across updates', () => {
    beforeExpiry();
    const a = actions();
    const p = mount(a, events.slice(0, pendingIndex));
    const feedback = byTestId(p.node, 'mlintern-feedback')[0] as HTMLTextAreaElement;
    feedback.value = 'fine';
    p.setState(
      reduce(reduceAll(events.slice(0, pendingIndex)), {
        kind: 'notice',
        message: 'tick'
      })
    );
    expect((byTestId(p.node, 'mlintern-feedback')[0] as HTMLTextAreaElement).value).toBe('fine');
    byTestId(p.node, 'mlintern-approve')[0].click();
    expect(a.send).toHaveBeenCalledWith({ type: 'approve', nonce: 'n-7f3e9a', feedback: 'fine' });
    expect(byTestId(p.node, 'mlintern-deny')[0]).toHaveProperty('disabled', true);
  });

  it('shows the countdown and refuses approval after expiry', () => {
    beforeExpiry();
    const p = mount(actions(), events.slice(0, pendingIndex));
    expect(byTestId(p.node, 'mlintern-expiry')[0].textContent).toBe('5m 00s');
    expect(byTestId(p.node, 'mlintern-approve')[0]).toHaveProperty('disabled', false);
    vi.setSystemTime(new Date('2025-01-01T12:10:01.000Z'));
    p.setState(
      reduce(reduceAll(events.slice(0, pendingIndex)), {
        kind: 'notice',
        message: 'tick'
      })
    );
    expect(byTestId(p.node, 'mlintern-expiry')[0].textContent).toBe('expired');
    expect(byTestId(p.node, 'mlintern-approve')[0]).toHaveProperty('disabled', true);
    expect(byTestId(p.node, 'mlintern-deny')[0]).toHaveProperty('disabled', false);
  });

  it('drops the approval card when resolved and shows the job with Cancel', () => {
    const a = actions();
    const p = mount(a, events.slice(0, pendingIndex + 4));
    expect(byTestId(p.node, 'mlintern-approval-card')).toHaveLength(0);
    expect(byTestId(p.node, 'mlintern-job-log')[0].textContent).toContain('epoch 2/3');
    byTestId(p.node, 'mlintern-job-cancel')[0].click();
    expect(a.send).toHaveBeenCalledWith({ type: 'cancel_job', job_id: 'job-42' });
  });

  it.each(['COMPLETED', 'ERROR', 'CANCELED', 'TIMEOUT', 'DELETED'])(
    'hides Cancel once the job is %s',
    status => {
      const job = events.find(e => e.kind === 'job_updated') as SessionEvent;
      const p = mount(actions(), [...events.slice(0, pendingIndex + 4), { ...job, status } as SessionEvent]);
      expect(byTestId(p.node, 'mlintern-job-status')[0].textContent).toBe(status);
      expect(byTestId(p.node, 'mlintern-job-cancel')).toHaveLength(0);
    }
  );

  it('plots the metrics the kernel parsed from the job log, from numbers only', () => {
    const p = mount(actions(), [
      ...events.slice(0, pendingIndex + 4),
      { kind: 'job_metrics', call_id: 'call_job1', job_id: 'job-42', points: [{ loss: 0.5 }, { loss: 0.25 }] }
    ]);
    const plot = byTestId(p.node, 'mlintern-job-metrics')[0];
    expect(plot.textContent).toContain('loss: 0.2500');
    expect(plot.querySelectorAll('polyline')).toHaveLength(1);
  });

  it("plots trackio's record instead of the log's numbers once it arrives", () => {
    const metrics = (points: Record<string, number>[], source?: 'log' | 'trackio') =>
      ({ kind: 'job_metrics', call_id: 'call_job1', job_id: 'job-42', points, source }) as SessionEvent;
    const p = mount(actions(), [
      ...events.slice(0, pendingIndex + 4),
      metrics([{ loss: 9 }, { loss: 8 }]),
      metrics([{ loss: 0.5 }, { loss: 0.125 }], 'trackio'),
      metrics([{ loss: 7 }])
    ]);
    const plot = byTestId(p.node, 'mlintern-job-metrics')[0];
    expect(plot.textContent).toContain('loss: 0.1250');
    expect(plot.textContent).not.toContain('loss: 7');
  });

  it('sends prompts and model changes', () => {
    const a = actions();
    const p = mount(a, []);
    const input = byTestId(p.node, 'mlintern-prompt-input')[0] as HTMLTextAreaElement;
    input.value = '  train it  ';
    byTestId(p.node, 'mlintern-prompt-send')[0].click();
    expect(a.prompt).toHaveBeenCalledWith('train it');
    expect(input.value).toBe('');
    (byTestId(p.node, 'mlintern-model-input')[0] as HTMLInputElement).value = 'openai/gpt-4.1';
    byTestId(p.node, 'mlintern-model-set')[0].click();
    expect(a.send).toHaveBeenCalledWith({ type: 'set_model', model: 'openai/gpt-4.1' });
    expect(byTestId(p.node, 'mlintern-stop')[0]).toHaveProperty('disabled', true);
  });

  it('changes approve mode, effort and budget with typed commands, refusing a bad budget before sending', () => {
    const a = actions();
    const p = mount(a, events.slice(0, pendingIndex));
    const mode = byTestId(p.node, 'mlintern-approve-mode-select')[0] as HTMLSelectElement;
    const effort = byTestId(p.node, 'mlintern-effort-select')[0] as HTMLSelectElement;
    expect(mode.value).toBe('ask');
    mode.value = 'auto';
    mode.dispatchEvent(new Event('change'));
    effort.value = 'low';
    effort.dispatchEvent(new Event('change'));
    const budget = byTestId(p.node, 'mlintern-budget-input')[0] as HTMLInputElement;
    budget.value = '-5';
    byTestId(p.node, 'mlintern-budget-set')[0].click();
    expect(byTestId(p.node, 'mlintern-status')[0].textContent).toBe('usd must be at least 0');
    budget.value = 'lots';
    byTestId(p.node, 'mlintern-budget-set')[0].click();
    expect(byTestId(p.node, 'mlintern-status')[0].textContent).toBe(
      'budget must be a number of USD (got lots)'
    );
    budget.value = '2.5';
    byTestId(p.node, 'mlintern-budget-set')[0].click();
    budget.value = '';
    byTestId(p.node, 'mlintern-budget-set')[0].click();
    expect(a.send.mock.calls.map(c => c[0])).toEqual([
      { type: 'set_approve_mode', mode: 'auto' },
      { type: 'set_effort', effort: 'low' },
      { type: 'set_budget', usd: 2.5 },
      { type: 'set_budget', usd: null }
    ]);
  });

  it('offers approve for this session only where the kernel does, and Edit in a cell for scripts', () => {
    beforeExpiry();
    const a = actions();
    const pending = events.slice(0, pendingIndex);
    const request = pending.find(e => e.kind === 'approval_requested') as SessionEvent;
    const p = mount(a, pending);
    expect(byTestId(p.node, 'mlintern-approve-session')).toHaveLength(0);
    byTestId(p.node, 'mlintern-edit-in-cell')[0].click();
    expect(a.send).toHaveBeenCalledWith({ type: 'edit_in_cell', nonce: 'n-7f3e9a' });
    const bash = { ...request, nonce: 'n-bash', call_id: 'c-bash', session_scope: 'pytest', action: {} };
    const q = mount(a, [...pending, bash as SessionEvent]);
    const [forSession] = byTestId(q.node, 'mlintern-approve-session');
    expect(forSession.textContent).toBe('Approve `pytest` for this session');
    forSession.click();
    expect(a.send).toHaveBeenCalledWith({ type: 'approve_for_session', nonce: 'n-bash' });
  });

  it('lists sessions as text with Resume and Export', () => {
    const a = actions();
    const p = mount(a, []);
    p.setSessions([
      {
        session_id: 's9',
        first_prompt: '<img src=x onerror=alert(1)>',
        model: 'demo',
        cost_usd: 0.5,
        state: 'idle',
        updated: ''
      }
    ]);
    const row = byTestId(p.node, 'mlintern-session')[0];
    expect(row.querySelector('img')).toBeNull();
    expect(row.textContent).toContain('<img src=x onerror=alert(1)>');
    byTestId(p.node, 'mlintern-session-resume')[0].click();
    byTestId(p.node, 'mlintern-session-export')[0].click();
    expect(a.send).toHaveBeenCalledWith({ type: 'resume', session_id: 's9' });
    expect(a.exportSession).toHaveBeenCalledWith('s9');
  });
});

describe('sub-agent steps', () => {
  it('render as one collapsible list of text inside the call card', () => {
    const history: SessionEvent[] = [
      { session_id: 's', seq: 1, ts: '', kind: 'tool_call', call_id: 'r1', tool: 'research', arguments: {} },
      {
        session_id: 's',
        seq: 2,
        ts: '',
        kind: 'subagent_progress',
        call_id: 'r1',
        step: 'tool_call',
        tool: 'hf_papers',
        text: '<img src=x onerror="alert(1)">'
      },
      {
        session_id: 's',
        seq: 3,
        ts: '',
        kind: 'subagent_progress',
        call_id: 'r1',
        step: 'tool_result',
        tool: 'hf_papers',
        text: '429',
        ok: false
      }
    ];
    const root = mount(actions(), history).node;
    expect(byTestId(root, 'mlintern-tool-card')).toHaveLength(1);
    const [steps] = byTestId(root, 'mlintern-subagent-steps');
    expect(steps.querySelector('summary')?.textContent).toBe('research: 1 tool calls, 2 steps');
    expect(steps.querySelector('img')).toBeNull();
    expect(steps.textContent).toContain('hf_papers <img src=x');
    expect(steps.querySelectorAll('.mlintern-step-failed')).toHaveLength(1);
  });
});

describe('approval action text', () => {
  it('shows every field the action uses, the script whole, and leaves out unused ones', () => {
    const text = actionText({
      call_id: 'c1',
      nonce: 'n',
      action_sha256: 'ab'.repeat(32),
      cost_usd: 0,
      expires_at: '2030-01-01T00:00:00Z',
      tool: 'hf_jobs',
      action: { tool: 'hf_jobs', operation: 'uv', image: '', command: [], timeout_s: 600, script: 'print(1)' }
    } as never);
    expect(text).toContain('"operation": "uv"');
    expect(text).toContain('"timeout_s": 600');
    expect(text).not.toContain('"image"');
    expect(text).not.toContain('"command"');
    expect(text).toMatch(/--- script ---\nprint\(1\)$/);
  });
});
