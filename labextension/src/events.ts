/**
 * Session events as the kernel sends them: mirrors mlintern_jupyter/agent/events.py (the source of truth).
 *
 * Field names are the Python dataclass field names (snake_case) because this is the JSON of events.jsonl.
 * Fields with a default in Python are optional here: the kernel always writes them, but the type guard
 * accepts events without them, so consumers must not assume they are present.
 * `tests/fixtures/events.jsonl` is checked against both files.
 */

export type TurnEndReason =
  'done' | 'max_iterations' | 'cancelled' | 'error' | 'awaiting_approval' | 'budget';
export type Decision = 'approved' | 'denied' | 'expired' | 'superseded';
export type DecidedBy = 'person' | 'policy';
export type ToolStatus = 'ok' | 'error' | 'invalid' | 'denied' | 'aborted';
export type TodoStatus = 'pending' | 'in_progress' | 'completed';

export interface Todo {
  id: string;
  content: string;
  status: TodoStatus | string;
}

export interface BaseEvent {
  session_id?: string;
  seq?: number;
  ts?: string;
}

export interface SessionStarted extends BaseEvent {
  kind: 'session_started';
  model: string;
  approve_mode?: string;
  budget_usd?: number | null;
  max_iterations?: number;
  workspace?: string;
  demo?: boolean;
  /** low | medium | high | max, or null for none. */
  reasoning_effort?: string | null;
  api_base?: string | null;
}

export interface UserPrompt extends BaseEvent {
  kind: 'user_prompt';
  text: string;
  cell_id?: string | null;
  kernel_digest?: string | null;
}

export interface PromptQueued extends BaseEvent {
  kind: 'prompt_queued';
  text: string;
  position?: number;
}

export interface AssistantDelta extends BaseEvent {
  kind: 'assistant_delta';
  text: string;
}

export interface AssistantMessage extends BaseEvent {
  kind: 'assistant_message';
  text: string;
  /** [{id, name, arguments}] with arguments as the raw JSON string the model produced. */
  tool_calls?: Array<Record<string, unknown>>;
  model?: string;
  thinking_blocks?: Array<Record<string, unknown>> | null;
}

export interface ToolCall extends BaseEvent {
  kind: 'tool_call';
  call_id: string;
  tool: string;
  arguments?: Record<string, unknown> | string;
}

export interface ApprovalRequested extends BaseEvent {
  kind: 'approval_requested';
  call_id: string;
  nonce: string;
  action_sha256: string;
  cost_usd: number | null;
  expires_at: string;
  tool?: string;
  /** The ActionSpec as shown to the person: tool, operation, hardware, timeout, namespace, image, script. */
  action?: Record<string, unknown>;
  budget_left_usd?: number | null;
  reason?: string;
}

export interface ApprovalResolved extends BaseEvent {
  kind: 'approval_resolved';
  call_id: string;
  decision: Decision;
  by: DecidedBy;
  feedback?: string;
  nonce?: string;
  edited_sha256?: string | null;
  allow_program?: string | null;
}

export interface ToolStarted extends BaseEvent {
  kind: 'tool_started';
  call_id: string;
  tool: string;
}

export interface ToolOutput extends BaseEvent {
  kind: 'tool_output';
  call_id: string;
  text: string;
  job_id?: string | null;
}

export interface ToolResult extends BaseEvent {
  kind: 'tool_result';
  call_id: string;
  tool: string;
  ok: boolean;
  content: string;
  status?: ToolStatus;
  duration_s?: number;
}

export type SubagentStep = 'started' | 'tool_call' | 'tool_result' | 'notice' | 'ended';

/** One step of a sub-agent (research) inside the parent's tool call `call_id`: grouped into that call's item. */
export interface SubagentProgress extends BaseEvent {
  kind: 'subagent_progress';
  call_id: string;
  agent?: string;
  step?: SubagentStep;
  tool?: string;
  text?: string;
  ok?: boolean;
}

export interface PlanUpdated extends BaseEvent {
  kind: 'plan_updated';
  todos?: Todo[];
}

export interface Usage extends BaseEvent {
  kind: 'usage';
  prompt_tokens?: number;
  completion_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  /** null when the model's price is unknown (never shown as $0.00). */
  cost_usd?: number | null;
  model?: string;
}

export interface Compacted extends BaseEvent {
  kind: 'compacted';
  summary: string;
  start?: number;
  end?: number;
  tokens_before?: number;
  tokens_after?: number;
}

export interface GuardFired extends BaseEvent {
  kind: 'guard_fired';
  guard: string;
  message: string;
}

export interface BudgetUpdated extends BaseEvent {
  kind: 'budget_updated';
  cap_usd: number | null;
  llm_spent_usd?: number;
  compute_reserved_usd?: number;
  compute_spent_usd?: number;
}

export interface JobUpdated extends BaseEvent {
  kind: 'job_updated';
  call_id: string;
  job_id: string;
  status: string;
  runtime?: 'hf' | 'local';
  hardware?: string;
  url?: string;
  cost_usd?: number;
  message?: string;
}

export interface CellInsert extends BaseEvent {
  kind: 'cell_insert';
  call_id: string;
  source: string;
  cell_type?: 'code' | 'markdown';
  /** Frontend id of the %%intern cell that started the turn: the new cell goes right below it. */
  anchor_cell_id?: string | null;
  script_path?: string | null;
}

export interface Notice extends BaseEvent {
  kind: 'notice';
  message: string;
  level?: 'info' | 'warning';
}

export interface ModelChanged extends BaseEvent {
  kind: 'model_changed';
  model: string;
  api_base?: string | null;
}

/** The person set the session's reasoning effort. */
export interface EffortChanged extends BaseEvent {
  kind: 'effort_changed';
  effort?: string | null;
}

/** A model refused an effort level: from now on it gets at most `effective` (null: none). */
export interface EffortFallback extends BaseEvent {
  kind: 'effort_fallback';
  model: string;
  requested?: string | null;
  effective?: string | null;
  reason?: string;
}

/** A price the person gave for a model litellm cannot price (USD per 1M tokens). */
export interface PriceSet extends BaseEvent {
  kind: 'price_set';
  model: string;
  input_per_mtok: number;
  output_per_mtok: number;
}

export interface ContextWindowLearned extends BaseEvent {
  kind: 'context_window_learned';
  model: string;
  tokens: number;
}

/** A model call waits before retrying; sent every second (not persisted). */
export interface RetryWait extends BaseEvent {
  kind: 'retry_wait';
  reason: string;
  seconds_left: number;
  attempt?: number;
  max_attempts?: number;
}

export interface ErrorEvent extends BaseEvent {
  kind: 'error';
  message: string;
  error_type?: string;
  hint?: string;
}

export interface TurnEnded extends BaseEvent {
  kind: 'turn_ended';
  reason: TurnEndReason;
  iterations?: number;
  message?: string;
}

export interface SessionEnded extends BaseEvent {
  kind: 'session_ended';
  reason?: string;
}

export type SessionEvent =
  | SessionStarted
  | UserPrompt
  | PromptQueued
  | AssistantDelta
  | AssistantMessage
  | ToolCall
  | ApprovalRequested
  | ApprovalResolved
  | ToolStarted
  | ToolOutput
  | ToolResult
  | SubagentProgress
  | PlanUpdated
  | Usage
  | Compacted
  | GuardFired
  | BudgetUpdated
  | JobUpdated
  | CellInsert
  | Notice
  | ModelChanged
  | EffortChanged
  | EffortFallback
  | PriceSet
  | ContextWindowLearned
  | RetryWait
  | ErrorEvent
  | TurnEnded
  | SessionEnded;

export type EventKind = SessionEvent['kind'];

// ---- runtime check -------------------------------------------------------------------------------

type Check = (v: unknown) => boolean;

const str: Check = v => typeof v === 'string';
const num: Check = v => typeof v === 'number' && Number.isFinite(v);
const int: Check = v => Number.isInteger(v);
const bool: Check = v => typeof v === 'boolean';
const obj: Check = v => typeof v === 'object' && v !== null && !Array.isArray(v);
const arrayOf =
  (item: Check): Check =>
  v =>
    Array.isArray(v) && v.every(item);
const nullable =
  (c: Check): Check =>
  v =>
    v === null || c(v);
const oneOf =
  (...values: string[]): Check =>
  v =>
    typeof v === 'string' && values.includes(v);
const todo: Check = v => obj(v) && str((v as Todo).content) && str((v as Todo).status);

/**
 * Per kind: fields with no default in Python are `required`; the others are checked only when present
 * (the Python side always writes them, but older logs and hand-written events may omit them).
 */
interface FieldSpec {
  required?: Record<string, Check>;
  optional?: Record<string, Check>;
}

const BASE: Record<string, Check> = { session_id: str, seq: int, ts: str };

export const EVENT_SPECS: Record<EventKind, FieldSpec> = {
  session_started: {
    required: { model: str },
    optional: {
      approve_mode: str,
      budget_usd: nullable(num),
      max_iterations: int,
      workspace: str,
      demo: bool,
      reasoning_effort: nullable(str),
      api_base: nullable(str)
    }
  },
  user_prompt: {
    required: { text: str },
    optional: { cell_id: nullable(str), kernel_digest: nullable(str) }
  },
  prompt_queued: { required: { text: str }, optional: { position: int } },
  assistant_delta: { required: { text: str } },
  assistant_message: {
    required: { text: str },
    optional: {
      tool_calls: arrayOf(obj),
      model: str,
      thinking_blocks: nullable(arrayOf(obj))
    }
  },
  tool_call: {
    required: { call_id: str, tool: str },
    optional: { arguments: v => obj(v) || str(v) }
  },
  approval_requested: {
    required: {
      call_id: str,
      nonce: str,
      action_sha256: str,
      cost_usd: nullable(num),
      expires_at: str
    },
    optional: {
      tool: str,
      action: obj,
      budget_left_usd: nullable(num),
      reason: str
    }
  },
  approval_resolved: {
    required: {
      call_id: str,
      decision: oneOf('approved', 'denied', 'expired', 'superseded'),
      by: oneOf('person', 'policy')
    },
    optional: { feedback: str, nonce: str, edited_sha256: nullable(str), allow_program: nullable(str) }
  },
  tool_started: { required: { call_id: str, tool: str } },
  tool_output: {
    required: { call_id: str, text: str },
    optional: { job_id: nullable(str) }
  },
  tool_result: {
    required: { call_id: str, tool: str, ok: bool, content: str },
    optional: {
      status: oneOf('ok', 'error', 'invalid', 'denied', 'aborted'),
      duration_s: num
    }
  },
  subagent_progress: {
    required: { call_id: str },
    optional: {
      agent: str,
      step: oneOf('started', 'tool_call', 'tool_result', 'notice', 'ended'),
      tool: str,
      text: str,
      ok: bool
    }
  },
  plan_updated: { optional: { todos: arrayOf(todo) } },
  usage: {
    optional: {
      prompt_tokens: int,
      completion_tokens: int,
      cache_read_tokens: int,
      cache_write_tokens: int,
      cost_usd: nullable(num),
      model: str
    }
  },
  compacted: {
    required: { summary: str },
    optional: { start: int, end: int, tokens_before: int, tokens_after: int }
  },
  guard_fired: { required: { guard: str, message: str } },
  budget_updated: {
    required: { cap_usd: nullable(num) },
    optional: {
      llm_spent_usd: num,
      compute_reserved_usd: num,
      compute_spent_usd: num
    }
  },
  job_updated: {
    required: { call_id: str, job_id: str, status: str },
    optional: {
      runtime: oneOf('hf', 'local'),
      hardware: str,
      url: str,
      cost_usd: num,
      message: str
    }
  },
  cell_insert: {
    required: { call_id: str, source: str },
    optional: {
      cell_type: oneOf('code', 'markdown'),
      anchor_cell_id: nullable(str),
      script_path: nullable(str)
    }
  },
  notice: {
    required: { message: str },
    optional: { level: oneOf('info', 'warning') }
  },
  model_changed: { required: { model: str }, optional: { api_base: nullable(str) } },
  effort_changed: { optional: { effort: nullable(str) } },
  effort_fallback: {
    required: { model: str },
    optional: { requested: nullable(str), effective: nullable(str), reason: str }
  },
  price_set: { required: { model: str, input_per_mtok: num, output_per_mtok: num } },
  context_window_learned: { required: { model: str, tokens: int } },
  retry_wait: {
    required: { reason: str, seconds_left: int },
    optional: { attempt: int, max_attempts: int }
  },
  error: {
    required: { message: str },
    optional: { error_type: str, hint: str }
  },
  turn_ended: {
    required: {
      reason: oneOf('done', 'max_iterations', 'cancelled', 'error', 'awaiting_approval', 'budget')
    },
    optional: { iterations: int, message: str }
  },
  session_ended: { optional: { reason: str } }
};

export const EVENT_KINDS = Object.keys(EVENT_SPECS) as EventKind[];

export function isSessionEvent(x: unknown): x is SessionEvent {
  if (!obj(x)) {
    return false;
  }
  const data = x as Record<string, unknown>;
  const kind = data.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(EVENT_SPECS, kind)) {
    return false;
  }
  const spec = EVENT_SPECS[kind as EventKind];
  const required = spec.required ?? {};
  for (const [name, check] of Object.entries(required)) {
    if (!(name in data) || !check(data[name])) {
      return false;
    }
  }
  const optional = { ...BASE, ...(spec.optional ?? {}) };
  for (const [name, check] of Object.entries(optional)) {
    if (name in data && !check(data[name])) {
      return false;
    }
  }
  return true;
}
