import { describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION } from '../commands';
import { parseKernelReply, versionMessage } from '../comm';
import { fixtureLines } from './fixture';

const V = PROTOCOL_VERSION;

describe('parseKernelReply', () => {
  it('passes a valid history through', () => {
    const events = fixtureLines();
    expect(parseKernelReply({ type: 'events', v: V, events, session_id: 's1' })).toEqual({
      type: 'events',
      events,
      sessionId: 's1'
    });
  });

  it('drops malformed events', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const reply = parseKernelReply({
      type: 'events',
      v: V,
      events: [{ kind: 'nope' }, { kind: 'session_ended' }]
    });
    expect(reply).toEqual({ type: 'events', events: [{ kind: 'session_ended' }], sessionId: null });
    expect(parseKernelReply({ type: 'event', v: V, event: { kind: 'usage', cost_usd: 'lots' } })).toBeNull();
    warn.mockRestore();
  });

  it('reads replies and errors, ignores the rest', () => {
    expect(
      parseKernelReply({
        type: 'reply',
        v: V,
        id: 'c3',
        command: 'set_budget',
        ok: false,
        message: 'no',
        data: null
      })
    ).toEqual({
      type: 'reply',
      reply: { id: 'c3', command: 'set_budget', ok: false, message: 'no', data: null }
    });
    expect(parseKernelReply({ type: 'error', v: V, code: 'invalid', message: 'boom' })).toEqual({
      type: 'error',
      code: 'invalid',
      message: 'boom'
    });
    expect(parseKernelReply({ type: 'what', v: V })).toBeNull();
    expect(parseKernelReply('events')).toBeNull();
  });

  it('turns a message of another protocol version into a version error, whatever it says', () => {
    // An older kernel answers a versioned hello with an unversioned error; a newer one stamps its own version.
    const older = parseKernelReply({ type: 'error', message: 'unknown or malformed message type None' });
    expect(older).toEqual({ type: 'error', code: 'version', message: versionMessage(undefined) });
    expect(older?.type === 'error' && older.message).toMatch(
      new RegExp(`protocol 1, this panel ${V}: upgrade mlintern-jupyter`)
    );
    const newer = parseKernelReply({ type: 'events', v: V + 1, events: [] });
    expect(newer?.type === 'error' && newer.message).toMatch(/reload the page/);
  });
});
