/** Immutable timeline helpers for the reducer: every function returns a new state, never mutates. */

import type { SessionEvent } from './events';
import {
  LOG_TAIL_LINES,
  type AssistantItem,
  type Header,
  type JobItem,
  type NoticeItem,
  type PanelState,
  type TimelineItem,
  type Tokens,
  type ToolItem
} from './state';

/** Keep the last `max` lines of `text` (a trailing partial line counts as a line). */
export function tailLines(text: string, max = LOG_TAIL_LINES): string {
  const lines = text.split('\n');
  const hasTrailingNewline = text.endsWith('\n');
  const count = hasTrailingNewline ? lines.length - 1 : lines.length;
  if (count <= max) {
    return text;
  }
  return lines.slice(count - max).join('\n');
}

function updateItem<T extends TimelineItem>(
  timeline: TimelineItem[],
  key: string,
  update: (item: T) => T
): TimelineItem[] {
  const index = timeline.findIndex(item => item.key === key);
  if (index < 0) {
    return timeline;
  }
  const next = timeline.slice();
  next[index] = update(timeline[index] as T);
  return next;
}

const toolKey = (callId: string) => `tool:${callId}`;
const jobKey = (jobId: string) => `job:${jobId}`;

function hasItem(state: PanelState, key: string): boolean {
  return state.timeline.some(item => item.key === key);
}

function ensureTool(state: PanelState, callId: string, tool: string): PanelState {
  if (hasItem(state, toolKey(callId))) {
    return state;
  }
  const item: ToolItem = {
    type: 'tool',
    key: toolKey(callId),
    callId,
    tool,
    arguments: {},
    status: 'called',
    output: '',
    steps: [],
    stepCount: 0,
    result: null,
    durationS: null,
    feedback: ''
  };
  return { ...state, timeline: [...state.timeline, item] };
}

export function withTool(
  state: PanelState,
  callId: string,
  tool: string,
  update: (item: ToolItem) => ToolItem
): PanelState {
  const ensured = ensureTool(state, callId, tool);
  return {
    ...ensured,
    timeline: updateItem<ToolItem>(ensured.timeline, toolKey(callId), update)
  };
}

function ensureJob(state: PanelState, jobId: string, callId: string): PanelState {
  if (hasItem(state, jobKey(jobId))) {
    return state;
  }
  const item: JobItem = {
    type: 'job',
    key: jobKey(jobId),
    jobId,
    callId,
    status: 'unknown',
    runtime: '',
    hardware: '',
    url: '',
    costUsd: 0,
    message: '',
    log: '',
    metrics: {}
  };
  return { ...state, timeline: [...state.timeline, item] };
}

/** Points kept per metric (the kernel keeps the same number for the notebook's job card). */
export const MAX_METRIC_POINTS = 400;

export function addMetrics(
  metrics: Record<string, number[]>,
  points: Array<Record<string, number>>
): Record<string, number[]> {
  const next: Record<string, number[]> = { ...metrics };
  for (const point of points) {
    for (const [name, value] of Object.entries(point)) {
      next[name] = [...(next[name] ?? []), value].slice(-MAX_METRIC_POINTS);
    }
  }
  return next;
}

export function withJob(
  state: PanelState,
  jobId: string,
  callId: string,
  update: (item: JobItem) => JobItem
): PanelState {
  const ensured = ensureJob(state, jobId, callId);
  return {
    ...ensured,
    timeline: updateItem<JobItem>(ensured.timeline, jobKey(jobId), update)
  };
}

export function addNotice(
  state: PanelState,
  seq: number,
  level: NoticeItem['level'],
  text: string
): PanelState {
  const item: NoticeItem = {
    type: 'notice',
    key: `notice:${seq}:${state.timeline.length}`,
    level,
    text
  };
  return { ...state, timeline: [...state.timeline, item] };
}

export function appendDelta(state: PanelState, seq: number, text: string): PanelState {
  if (state.streamingKey !== null && hasItem(state, state.streamingKey)) {
    return {
      ...state,
      timeline: updateItem<AssistantItem>(state.timeline, state.streamingKey, item => ({
        ...item,
        text: item.text + text
      }))
    };
  }
  const key = `assistant:${seq}:${state.timeline.length}`;
  const item: AssistantItem = { type: 'assistant', key, text, streaming: true };
  return { ...state, timeline: [...state.timeline, item], streamingKey: key };
}

export function finishAssistant(state: PanelState, seq: number, text: string): PanelState {
  const key = state.streamingKey;
  if (key !== null && hasItem(state, key)) {
    return {
      ...state,
      streamingKey: null,
      timeline: updateItem<AssistantItem>(state.timeline, key, item => ({
        ...item,
        text,
        streaming: false
      }))
    };
  }
  if (!text) {
    return { ...state, streamingKey: null };
  }
  const item: AssistantItem = {
    type: 'assistant',
    key: `assistant:${seq}:${state.timeline.length}`,
    text,
    streaming: false
  };
  return { ...state, streamingKey: null, timeline: [...state.timeline, item] };
}

export function withUsage(header: Header, e: Extract<SessionEvent, { kind: 'usage' }>): Header {
  const tokens: Tokens = {
    prompt: header.tokens.prompt + (e.prompt_tokens ?? 0),
    completion: header.tokens.completion + (e.completion_tokens ?? 0),
    cacheRead: header.tokens.cacheRead + (e.cache_read_tokens ?? 0),
    cacheWrite: header.tokens.cacheWrite + (e.cache_write_tokens ?? 0)
  };
  return {
    ...header,
    tokens,
    cacheHitShare: tokens.prompt > 0 ? tokens.cacheRead / tokens.prompt : null,
    costUsd: header.costUsd + (e.cost_usd ?? 0),
    unpricedCalls: header.unpricedCalls + (e.cost_usd === null ? 1 : 0),
    retry: null
  };
}
