import { describe, expect, it, vi } from 'vitest';
import { parseKernelReply } from '../comm';
import { fixtureLines } from './fixture';

describe('parseKernelReply', () => {
  it('passes a valid history through', () => {
    const events = fixtureLines();
    expect(parseKernelReply({ type: 'events', events })).toEqual({
      type: 'events',
      events
    });
  });

  it('drops malformed events', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const reply = parseKernelReply({
      type: 'events',
      events: [{ kind: 'nope' }, { kind: 'session_ended' }]
    });
    expect(reply).toEqual({
      type: 'events',
      events: [{ kind: 'session_ended' }]
    });
    expect(
      parseKernelReply({
        type: 'event',
        event: { kind: 'usage', cost_usd: 'lots' }
      })
    ).toBeNull();
    warn.mockRestore();
  });

  it('reads sessions and errors, ignores the rest', () => {
    expect(parseKernelReply({ type: 'sessions', sessions: [{ session_id: 'a' }, 3] })).toEqual({
      type: 'sessions',
      sessions: [{ session_id: 'a' }]
    });
    expect(parseKernelReply({ type: 'error', message: 'boom' })).toEqual({
      type: 'error',
      message: 'boom'
    });
    expect(parseKernelReply({ type: 'what' })).toBeNull();
    expect(parseKernelReply('events')).toBeNull();
  });
});
