import { describe, expect, it } from 'vitest';
import { isSessionEvent, type SessionEvent } from '../events';
import {
  initialState,
  LOG_TAIL_LINES,
  reduce,
  reduceAll,
  tailLines,
  type JobItem,
  type ToolItem
} from '../reducer';
import { fixtureLines } from './fixture';
import { costText, effortText } from '../views/header';

function fixtureEvents(): SessionEvent[] {
  return fixtureLines().filter(isSessionEvent);
}

let seq = 0;
function ev<E extends SessionEvent>(e: Omit<E, 'seq' | 'ts' | 'session_id'> & Partial<SessionEvent>): E {
  seq += 1;
  return {
    session_id: 's1',
    seq,
    ts: '2025-01-01T00:00:00Z',
    ...e
  } as unknown as E;
}

describe('reduce over the shared fixture', () => {
  const state = reduceAll(fixtureEvents());

  it('gives the job card the metrics the kernel parsed from its log', () => {
    const job = state.timeline.find(item => item.type === 'job');
    expect(job).toMatchObject({ jobId: 'job-42', metrics: { epoch: [1, 2], loss: [0.41, 0.29] } });
  });

  it('fills the header', () => {
    expect(state.header.sessionId).toBe('3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f8a9b0c');
    expect(state.header.model).toBe('openai/gpt-4.1'); // model_changed comes after session_started
    expect(state.header.approveMode).toBe('auto'); // approve_mode_changed after session_started
    expect(state.header.tokens).toEqual({
      prompt: 12000,
      completion: 800,
      cacheRead: 9000,
      cacheWrite: 2000
    });
    expect(state.header.cacheHitShare).toBeCloseTo(0.75);
    expect(state.header.costUsd).toBeCloseTo(0.05);
    expect(state.header.budget?.capUsd).toBe(5);
    expect(state.header.budget?.usedUsd).toBeCloseTo(2.05);
    expect(state.header.budget?.leftUsd).toBeCloseTo(2.95);
  });

  it('replaces streamed text with the final assistant message', () => {
    const assistant = state.timeline.filter(item => item.type === 'assistant');
    expect(assistant).toHaveLength(1);
    expect(assistant[0]).toMatchObject({
      text: "I'll start by **inspecting** the `imdb` dataset, then write a training script.",
      streaming: false
    });
  });

  it('builds the tool card from call, approval, start and result', () => {
    const tool = state.timeline.find(item => item.type === 'tool') as ToolItem;
    expect(tool).toMatchObject({
      callId: 'call_job1',
      tool: 'hf_jobs',
      status: 'ok',
      feedback: 'go ahead'
    });
    expect(tool.result).toContain('job-42');
    expect(tool.output).toBe(''); // job output goes to the job card
    expect(tool.steps).toEqual([
      {
        step: 'tool_call',
        tool: 'hf_papers',
        text: 'operation="citation_graph", arxiv_id="2305.18290"',
        ok: true
      }
    ]);
  });

  it('builds the job card with its log', () => {
    const job = state.timeline.find(item => item.type === 'job') as JobItem;
    expect(job).toMatchObject({
      jobId: 'job-42',
      status: 'RUNNING',
      runtime: 'hf',
      hardware: 'a10g-small'
    });
    expect(job.log).toContain('epoch 2/3');
  });

  it('clears the approval once resolved and keeps the plan', () => {
    expect(state.approvals).toEqual([]);
    expect(state.plan.map(t => t.status)).toEqual(['completed', 'in_progress', 'pending']);
  });

  it('ends the turn and the session', () => {
    expect(state.turn).toMatchObject({
      running: false,
      lastReason: 'done',
      iterations: 7
    });
    expect(state.sessionEnded).toBe(true);
    expect(state.lastSeq).toBe(40);
  });

  it('shows the session effort and what the current model accepted', () => {
    expect(state.header.effort).toBe('medium');
    expect(state.header.effortCaps['openai/gpt-4.1']).toBeNull();
    expect(effortText(state)).toBe('medium (this model: none)');
    expect(state.header.retry).toBeNull(); // the countdown is over once the turn ended
  });

  it('never mutates its input', () => {
    const events = fixtureEvents();
    const before = initialState();
    const frozen = JSON.stringify(before);
    let s = before;
    for (const e of events) {
      const snapshot = JSON.stringify(s);
      const next = reduce(s, e);
      expect(JSON.stringify(s)).toBe(snapshot);
      s = next;
    }
    expect(JSON.stringify(before)).toBe(frozen);
  });
});

describe('reduce, step by step', () => {
  it('keeps an approval pending until resolved with the same call id', () => {
    let s = initialState();
    s = reduce(
      s,
      ev({
        kind: 'user_prompt',
        text: 'go',
        cell_id: null,
        kernel_digest: null
      })
    );
    expect(s.turn.running).toBe(true);
    const request = {
      kind: 'approval_requested' as const,
      nonce: 'n',
      action_sha256: 'abc',
      cost_usd: 1,
      expires_at: 'x',
      tool: 'hf_jobs',
      action: {},
      budget_left_usd: 3,
      reason: ''
    };
    s = reduce(s, ev({ ...request, call_id: 'a' }));
    s = reduce(s, ev({ ...request, call_id: 'b', nonce: 'm' }));
    expect(s.approvals.map(a => a.call_id)).toEqual(['a', 'b']);
    s = reduce(
      s,
      ev({
        kind: 'approval_resolved',
        call_id: 'a',
        decision: 'denied',
        by: 'person',
        feedback: 'no',
        nonce: 'n',
        edited_sha256: null
      })
    );
    expect(s.approvals.map(a => a.call_id)).toEqual(['b']);
    expect((s.timeline.find(i => i.key === 'tool:a') as ToolItem).status).toBe('denied');
    expect((s.timeline.find(i => i.key === 'tool:b') as ToolItem).status).toBe('awaiting_approval');
    s = reduce(
      s,
      ev({
        kind: 'turn_ended',
        reason: 'awaiting_approval',
        iterations: 1,
        message: ''
      })
    );
    expect(s.turn).toMatchObject({
      running: false,
      lastReason: 'awaiting_approval'
    });
  });

  it('accumulates deltas into one item and starts a new one after a message', () => {
    let s = initialState();
    s = reduce(s, ev({ kind: 'assistant_delta', text: 'Hel' }));
    s = reduce(s, ev({ kind: 'assistant_delta', text: 'lo' }));
    expect(s.timeline).toHaveLength(1);
    expect(s.timeline[0]).toMatchObject({ text: 'Hello', streaming: true });
    s = reduce(
      s,
      ev({
        kind: 'assistant_message',
        text: 'Hello!',
        tool_calls: [],
        model: '',
        thinking_blocks: null
      })
    );
    s = reduce(s, ev({ kind: 'assistant_delta', text: 'Next' }));
    expect(s.timeline.map(i => (i.type === 'assistant' ? i.text : ''))).toEqual(['Hello!', 'Next']);
  });

  it('caps job logs at the tail', () => {
    let s = initialState();
    s = reduce(
      s,
      ev({
        kind: 'job_updated',
        call_id: 'c',
        job_id: 'j',
        status: 'RUNNING',
        runtime: 'local',
        hardware: '',
        url: '',
        cost_usd: 0,
        message: ''
      })
    );
    for (let i = 0; i < 500; i++) {
      s = reduce(
        s,
        ev({
          kind: 'tool_output',
          call_id: 'c',
          text: `line ${i}\n`,
          job_id: 'j'
        })
      );
    }
    const job = s.timeline.find(i => i.type === 'job') as JobItem;
    const lines = job.log.trimEnd().split('\n');
    expect(lines).toHaveLength(LOG_TAIL_LINES);
    expect(lines[lines.length - 1]).toBe('line 499');
    expect(s.timeline).toHaveLength(1);
  });

  it('joins partial lines across chunks', () => {
    expect(tailLines('a\nb\nc', 2)).toBe('b\nc');
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb', 5)).toBe('a\nb');
  });

  it('groups sub-agent steps into the one card of their call, keeping the latest', () => {
    let s = reduce(initialState(), ev({ kind: 'tool_call', call_id: 'r1', tool: 'research', arguments: {} }));
    for (let i = 0; i < 70; i++) {
      s = reduce(
        s,
        ev({
          kind: 'subagent_progress',
          call_id: 'r1',
          step: 'tool_call',
          tool: 'hf_papers',
          text: `step ${i}`
        })
      );
    }
    s = reduce(
      s,
      ev({ kind: 'subagent_progress', call_id: 'r1', step: 'tool_result', tool: 'x', ok: false })
    );
    expect(s.timeline).toHaveLength(1);
    const tool = s.timeline[0] as ToolItem;
    expect(tool.stepCount).toBe(71);
    expect(tool.steps).toHaveLength(60);
    expect(tool.steps[0].text).toBe('step 11');
    expect(tool.steps.at(-1)).toEqual({ step: 'tool_result', tool: 'x', text: '', ok: false });
  });

  it('routes tool output without a job id to the tool card', () => {
    let s = initialState();
    s = reduce(
      s,
      ev({
        kind: 'tool_call',
        call_id: 'c',
        tool: 'bash',
        arguments: { command: 'ls' }
      })
    );
    s = reduce(s, ev({ kind: 'tool_started', call_id: 'c', tool: 'bash' }));
    s = reduce(
      s,
      ev({
        kind: 'tool_output',
        call_id: 'c',
        text: '<b>x</b>\n',
        job_id: null
      })
    );
    const tool = s.timeline[0] as ToolItem;
    expect(tool).toMatchObject({ status: 'running', output: '<b>x</b>\n' });
    s = reduce(
      s,
      ev({
        kind: 'tool_result',
        call_id: 'c',
        tool: 'bash',
        ok: false,
        content: 'boom',
        status: 'error',
        duration_s: 0.1
      })
    );
    expect(s.timeline[0]).toMatchObject({ status: 'error', result: 'boom' });
  });

  it('has no budget without a cap and a cache share only after usage', () => {
    let s = initialState();
    expect(s.header.cacheHitShare).toBeNull();
    s = reduce(
      s,
      ev({
        kind: 'budget_updated',
        cap_usd: null,
        llm_spent_usd: 0.5,
        compute_reserved_usd: 0,
        compute_spent_usd: 0
      })
    );
    expect(s.header.budget).toEqual({
      capUsd: null,
      usedUsd: 0.5,
      leftUsd: null
    });
    s = reduce(
      s,
      ev({
        kind: 'usage',
        prompt_tokens: 100,
        completion_tokens: 1,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_usd: 0.01,
        model: ''
      })
    );
    s = reduce(
      s,
      ev({
        kind: 'usage',
        prompt_tokens: 100,
        completion_tokens: 1,
        cache_read_tokens: 50,
        cache_write_tokens: 0,
        cost_usd: 0.01,
        model: ''
      })
    );
    expect(s.header.cacheHitShare).toBeCloseTo(0.25);
    expect(s.header.costUsd).toBeCloseTo(0.02);
  });

  it('starts clean when another session starts', () => {
    let s = reduceAll(fixtureEvents());
    s = reduce(s, {
      kind: 'session_started',
      session_id: 'other',
      seq: 1,
      ts: '',
      model: 'demo'
    });
    expect(s.header.sessionId).toBe('other');
    expect(s.timeline).toEqual([]);
    expect(s.header.costUsd).toBe(0);
    expect(s.lastSeq).toBe(1);
  });
});

describe('honest cost and the retry countdown', () => {
  it('never shows an unknown price as $0.00', () => {
    let state = reduce(initialState(), ev({ kind: 'session_started', model: 'moonshotai/Kimi-K2.6:novita' }));
    state = reduce(state, ev({ kind: 'usage', prompt_tokens: 1000, completion_tokens: 10, cost_usd: null }));
    expect(costText(state)).toBe('unknown');
    state = reduce(state, ev({ kind: 'usage', prompt_tokens: 10, completion_tokens: 10, cost_usd: 0.25 }));
    expect(costText(state)).toBe('$0.25 + unknown');
    expect(state.header.unpricedCalls).toBe(1);
  });

  it('counts down while a model call waits and clears when it is over', () => {
    let state = reduce(initialState(), ev({ kind: 'user_prompt', text: 'go' }));
    state = reduce(state, ev({ kind: 'retry_wait', reason: 'rate limit, HTTP 429', seconds_left: 30 }));
    expect(state.header.retry).toEqual({ secondsLeft: 30, reason: 'rate limit, HTTP 429' });
    state = reduce(state, ev({ kind: 'retry_wait', reason: 'rate limit, HTTP 429', seconds_left: 29 }));
    expect(state.header.retry?.secondsLeft).toBe(29);
    state = reduce(state, ev({ kind: 'retry_wait', reason: 'rate limit, HTTP 429', seconds_left: 0 }));
    expect(state.header.retry).toBeNull();
  });

  it('shows the effort a model was lowered to', () => {
    let state = reduce(
      initialState(),
      ev({ kind: 'session_started', model: 'moonshotai/Kimi-K2.6:novita', reasoning_effort: 'max' })
    );
    expect(effortText(state)).toBe('max');
    state = reduce(
      state,
      ev({
        kind: 'effort_fallback',
        model: 'moonshotai/Kimi-K2.6:novita',
        requested: 'max',
        effective: 'high'
      })
    );
    expect(effortText(state)).toBe('max (this model: high)');
  });
});
