/** Panel state: what the side panel shows, built by `reducer.ts` from session events. */

import type { ApprovalRequested, Todo, ToolCall, TurnEndReason } from './events';

/** Job logs and tool output keep only their tail: a training run prints far more than a panel can show. */
export const LOG_TAIL_LINES = 200;

export interface Tokens {
  prompt: number;
  completion: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Budget {
  capUsd: number | null;
  usedUsd: number;
  leftUsd: number | null;
}

export interface Header {
  sessionId: string;
  model: string;
  approveMode: string;
  demo: boolean;
  budget: Budget | null;
  tokens: Tokens;
  /** cache_read / prompt tokens, or null before any usage. */
  cacheHitShare: number | null;
  costUsd: number;
  /** Model calls whose price is unknown: their cost is not in costUsd. */
  unpricedCalls: number;
  /** The session's reasoning effort (null: none). */
  effort: string | null;
  /** Per model, the highest effort it accepted (null: none), learned from refusals. */
  effortCaps: Record<string, string | null>;
  /** A model call waiting to retry: the countdown the kernel sends every second. */
  retry: { secondsLeft: number; reason: string } | null;
}

export type ToolCardStatus =
  | 'called'
  | 'awaiting_approval'
  | 'approved'
  | 'running'
  | 'ok'
  | 'error'
  | 'invalid'
  | 'denied'
  | 'aborted'
  | 'expired'
  | 'superseded';

export interface UserItem {
  type: 'user';
  key: string;
  text: string;
  queued: boolean;
}

export interface AssistantItem {
  type: 'assistant';
  key: string;
  text: string;
  streaming: boolean;
}

/** A step of a sub-agent running inside a tool call (research), shown in that call's card. */
export interface SubagentStepItem {
  step: string;
  tool: string;
  text: string;
  ok: boolean;
}

/** Steps a card keeps: a deep research crawl makes dozens; the latest are the interesting ones. */
export const MAX_SUBAGENT_STEPS = 60;

export interface ToolItem {
  type: 'tool';
  key: string;
  callId: string;
  tool: string;
  arguments: ToolCall['arguments'];
  status: ToolCardStatus;
  output: string;
  /** Sub-agent steps grouped under this call (the latest MAX_SUBAGENT_STEPS), and how many there were. */
  steps: SubagentStepItem[];
  stepCount: number;
  result: string | null;
  durationS: number | null;
  feedback: string;
}

export interface JobItem {
  type: 'job';
  key: string;
  jobId: string;
  callId: string;
  status: string;
  runtime: string;
  hardware: string;
  url: string;
  costUsd: number;
  message: string;
  log: string;
  /** Numbers parsed from the job's log by the kernel (job_metrics events), per name, oldest first. */
  metrics: Record<string, number[]>;
  /** The metrics came from trackio's store (job_metrics source "trackio"), not from the log. */
  fromTrackio?: boolean;
}

export interface NoticeItem {
  type: 'notice';
  key: string;
  level: 'info' | 'warning' | 'error';
  text: string;
}

export type TimelineItem = UserItem | AssistantItem | ToolItem | JobItem | NoticeItem;

export type PendingApproval = Omit<ApprovalRequested, 'kind'>;

export interface TurnState {
  running: boolean;
  lastReason: TurnEndReason | null;
  iterations: number;
  message: string;
}

export interface PanelState {
  header: Header;
  timeline: TimelineItem[];
  approvals: PendingApproval[];
  plan: Todo[];
  turn: TurnState;
  sessionEnded: boolean;
  lastSeq: number;
  /** Key of the assistant item receiving deltas, if any. */
  streamingKey: string | null;
}

export function initialState(): PanelState {
  return {
    header: {
      sessionId: '',
      model: '',
      approveMode: 'ask',
      demo: false,
      budget: null,
      tokens: { prompt: 0, completion: 0, cacheRead: 0, cacheWrite: 0 },
      cacheHitShare: null,
      costUsd: 0,
      unpricedCalls: 0,
      effort: null,
      effortCaps: {},
      retry: null
    },
    timeline: [],
    approvals: [],
    plan: [],
    turn: { running: false, lastReason: null, iterations: 0, message: '' },
    sessionEnded: false,
    lastSeq: 0,
    streamingKey: null
  };
}
