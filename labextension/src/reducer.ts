/**
 * Panel state as a pure function of the event stream: `reduce(state, event) -> state`.
 *
 * Never mutates its input; unchanged parts keep their identity so the view can skip them.
 */

import type { SessionEvent, TurnEndReason } from './events';
import {
  initialState,
  MAX_SUBAGENT_STEPS,
  type PanelState,
  type ToolCardStatus,
  type UserItem
} from './state';
import {
  addMetrics,
  addNotice,
  appendDelta,
  finishAssistant,
  withJob,
  withTool,
  withUsage,
  tailLines
} from './timeline-items';

export * from './state';
export { tailLines } from './timeline-items';

const RESOLVED_STATUS: Record<string, ToolCardStatus> = {
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  superseded: 'superseded'
};

function reduceEvent(state: PanelState, e: SessionEvent, seq: number): PanelState {
  switch (e.kind) {
    case 'session_started':
      return {
        ...state,
        sessionEnded: false,
        header: {
          ...state.header,
          model: e.model,
          approveMode: e.approve_mode ?? state.header.approveMode,
          demo: e.demo ?? false,
          effort: e.reasoning_effort ?? null,
          budget:
            state.header.budget ??
            (e.budget_usd !== null && e.budget_usd !== undefined
              ? { capUsd: e.budget_usd, usedUsd: 0, leftUsd: e.budget_usd }
              : null)
        }
      };
    case 'user_prompt': {
      const item: UserItem = {
        type: 'user',
        key: `user:${seq}:${state.timeline.length}`,
        text: e.text,
        queued: false
      };
      return {
        ...state,
        streamingKey: null,
        timeline: [...state.timeline, item],
        turn: { ...state.turn, running: true, lastReason: null, message: '' }
      };
    }
    case 'prompt_queued': {
      const item: UserItem = {
        type: 'user',
        key: `queued:${seq}:${state.timeline.length}`,
        text: e.text,
        queued: true
      };
      return { ...state, timeline: [...state.timeline, item] };
    }
    case 'assistant_delta':
      return appendDelta(state, seq, e.text);
    case 'assistant_message':
      return finishAssistant(state, seq, e.text);
    case 'tool_call':
      return withTool(state, e.call_id, e.tool, item => ({
        ...item,
        tool: e.tool,
        arguments: e.arguments ?? {}
      }));
    case 'approval_requested': {
      const { kind: _kind, ...pending } = e;
      void _kind;
      const approvals = [...state.approvals.filter(a => a.call_id !== e.call_id), pending];
      const next = withTool(state, e.call_id, e.tool ?? '', item => ({
        ...item,
        status: 'awaiting_approval'
      }));
      return { ...next, approvals };
    }
    case 'approval_resolved': {
      const approvals = state.approvals.filter(a => a.call_id !== e.call_id);
      const next = withTool(state, e.call_id, '', item => ({
        ...item,
        status: RESOLVED_STATUS[e.decision] ?? item.status,
        feedback: e.feedback ?? ''
      }));
      return { ...next, approvals };
    }
    case 'tool_started':
      return withTool(state, e.call_id, e.tool, item => ({
        ...item,
        status: 'running'
      }));
    case 'tool_output':
      if (e.job_id) {
        return withJob(state, e.job_id, e.call_id, item => ({
          ...item,
          log: tailLines(item.log + e.text)
        }));
      }
      return withTool(state, e.call_id, '', item => ({
        ...item,
        output: tailLines(item.output + e.text)
      }));
    case 'tool_result':
      return withTool(state, e.call_id, e.tool, item => ({
        ...item,
        tool: e.tool || item.tool,
        status: e.status ?? (e.ok ? 'ok' : 'error'),
        result: e.content,
        durationS: e.duration_s ?? null
      }));
    case 'subagent_progress':
      return withTool(state, e.call_id, '', item => ({
        ...item,
        stepCount: item.stepCount + 1,
        steps: [
          ...item.steps,
          { step: e.step ?? 'tool_call', tool: e.tool ?? '', text: e.text ?? '', ok: e.ok ?? true }
        ].slice(-MAX_SUBAGENT_STEPS)
      }));
    case 'plan_updated':
      return { ...state, plan: e.todos ?? [] };
    case 'usage':
      return { ...state, header: withUsage(state.header, e) };
    case 'budget_updated': {
      const used = (e.llm_spent_usd ?? 0) + (e.compute_reserved_usd ?? 0) + (e.compute_spent_usd ?? 0);
      const left = e.cap_usd === null ? null : Math.max(0, e.cap_usd - used);
      return {
        ...state,
        header: {
          ...state.header,
          budget: { capUsd: e.cap_usd, usedUsd: used, leftUsd: left }
        }
      };
    }
    case 'job_updated':
      return withJob(state, e.job_id, e.call_id, item => ({
        ...item,
        callId: e.call_id,
        status: e.status,
        runtime: e.runtime ?? item.runtime,
        hardware: e.hardware || item.hardware,
        url: e.url || item.url,
        costUsd: e.cost_usd ?? item.costUsd,
        message: e.message ?? item.message
      }));
    case 'job_metrics':
      // trackio's own record replaces the numbers parsed from the log; after it, log numbers are ignored.
      return withJob(state, e.job_id, e.call_id, item => {
        if (item.fromTrackio && e.source !== 'trackio') {
          return item;
        }
        const base = e.source === 'trackio' && !item.fromTrackio ? {} : item.metrics;
        return {
          ...item,
          fromTrackio: item.fromTrackio || e.source === 'trackio',
          metrics: addMetrics(base, e.points ?? [])
        };
      });
    case 'approve_mode_changed':
      return { ...state, header: { ...state.header, approveMode: e.mode } };
    case 'compacted':
      return addNotice(
        state,
        seq,
        'info',
        `Context compacted: ${e.tokens_before ?? 0} → ${e.tokens_after ?? 0} tokens`
      );
    case 'guard_fired':
      return addNotice(state, seq, 'warning', `Guard ${e.guard}: ${e.message}`);
    case 'notice':
      return addNotice(state, seq, e.level ?? 'info', e.message);
    case 'model_changed':
      return {
        ...addNotice(state, seq, 'info', `Model: ${e.model}`),
        header: { ...state.header, model: e.model }
      };
    case 'effort_changed':
      return {
        ...addNotice(state, seq, 'info', `Reasoning effort: ${e.effort ?? 'none'}`),
        header: { ...state.header, effort: e.effort ?? null }
      };
    case 'effort_fallback':
      return {
        ...state,
        header: {
          ...state.header,
          effortCaps: { ...state.header.effortCaps, [e.model]: e.effective ?? null }
        }
      };
    case 'price_set':
      return addNotice(
        state,
        seq,
        'info',
        `Price of ${e.model}: $${e.input_per_mtok} in / $${e.output_per_mtok} out per million tokens`
      );
    case 'context_window_learned':
      return addNotice(
        state,
        seq,
        'info',
        `${e.model}: context window ${e.tokens} tokens (from the provider)`
      );
    case 'retry_wait':
      return {
        ...state,
        header: {
          ...state.header,
          retry: e.seconds_left > 0 ? { secondsLeft: e.seconds_left, reason: e.reason } : null
        }
      };
    case 'error':
      return addNotice(state, seq, 'error', e.hint ? `${e.message} (${e.hint})` : e.message);
    case 'cell_insert':
      return addNotice(
        state,
        seq,
        'info',
        `Inserted a ${e.cell_type ?? 'code'} cell${e.script_path ? ` (${e.script_path})` : ''}`
      );
    case 'turn_ended': {
      const next: PanelState = {
        ...state,
        header: { ...state.header, retry: null },
        streamingKey: null,
        turn: {
          running: false,
          lastReason: e.reason,
          iterations: e.iterations ?? 0,
          message: e.message ?? ''
        }
      };
      return e.reason === 'done'
        ? next
        : addNotice(next, seq, e.reason === 'error' ? 'error' : 'warning', turnEndText(e.reason, e.message));
    }
    case 'session_ended':
      return {
        ...state,
        sessionEnded: true,
        streamingKey: null,
        turn: { ...state.turn, running: false }
      };
    default:
      return state;
  }
}

function turnEndText(reason: TurnEndReason, message: string | undefined): string {
  const base = `Turn ended: ${reason.replace(/_/g, ' ')}`;
  return message ? `${base}: ${message}` : base;
}

export function reduce(state: PanelState, event: SessionEvent): PanelState {
  // A new session in the same kernel (%%intern --new) starts a clean panel.
  if (
    event.kind === 'session_started' &&
    event.session_id &&
    state.header.sessionId &&
    event.session_id !== state.header.sessionId
  ) {
    state = initialState();
  }
  const next = reduceEvent(state, event, event.seq ?? 0);
  const sessionId = state.header.sessionId || event.session_id || '';
  const header = sessionId === next.header.sessionId ? next.header : { ...next.header, sessionId };
  return { ...next, header, lastSeq: Math.max(state.lastSeq, event.seq ?? 0) };
}

export function reduceAll(events: Iterable<SessionEvent>, state: PanelState = initialState()): PanelState {
  let current = state;
  for (const event of events) {
    current = reduce(current, event);
  }
  return current;
}
