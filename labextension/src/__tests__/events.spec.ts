import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, isSessionEvent } from '../events';
import { fixtureLines } from './fixture';

describe('isSessionEvent', () => {
  const lines = fixtureLines();

  it('accepts every line of the shared fixture', () => {
    lines.forEach((line, i) => {
      expect(isSessionEvent(line), `line ${i + 1}: ${JSON.stringify(line)}`).toBe(true);
    });
  });

  it('sees every known kind in the fixture', () => {
    const kinds = new Set(lines.map(line => (line as { kind: string }).kind));
    expect([...kinds].sort()).toEqual([...EVENT_KINDS].sort());
  });

  it('has increasing seq and one session id', () => {
    const seqs = lines.map(line => (line as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(lines.map(line => (line as { session_id: string }).session_id)).size).toBe(1);
  });

  it('rejects unknown kinds and non-objects', () => {
    expect(isSessionEvent(null)).toBe(false);
    expect(isSessionEvent([])).toBe(false);
    expect(isSessionEvent('usage')).toBe(false);
    expect(isSessionEvent({ kind: 'launch_missiles' })).toBe(false);
    expect(isSessionEvent({ kind: 'toString' })).toBe(false);
  });

  it('rejects missing or mistyped required fields', () => {
    expect(isSessionEvent({ kind: 'tool_call', tool: 'bash' })).toBe(false);
    expect(
      isSessionEvent({
        kind: 'tool_result',
        call_id: 'c',
        tool: 't',
        ok: 'yes',
        content: ''
      })
    ).toBe(false);
    expect(
      isSessionEvent({
        kind: 'approval_resolved',
        call_id: 'c',
        decision: 'maybe',
        by: 'person'
      })
    ).toBe(false);
    expect(isSessionEvent({ kind: 'turn_ended', reason: 'bored' })).toBe(false);
    expect(isSessionEvent({ kind: 'budget_updated' })).toBe(false);
  });

  it('checks optional fields only when present', () => {
    expect(isSessionEvent({ kind: 'session_ended' })).toBe(true);
    expect(isSessionEvent({ kind: 'budget_updated', cap_usd: null })).toBe(true);
    expect(isSessionEvent({ kind: 'usage', prompt_tokens: '12' })).toBe(false);
    expect(isSessionEvent({ kind: 'assistant_delta', text: 'x', seq: 1.5 })).toBe(false);
    expect(
      isSessionEvent({
        kind: 'tool_output',
        call_id: 'c',
        text: 'x',
        job_id: null
      })
    ).toBe(true);
  });
});
