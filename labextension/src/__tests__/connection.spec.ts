import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION } from '../commands';
import { MlinternConnection, type ConnectionHandlers, type ConnectionStatus } from '../comm';

const V = PROTOCOL_VERSION;
const hello = (id: string) => ({ v: V, id, command: { type: 'hello' } });

/** Just enough of a comm, kernel and session context for MlinternConnection. */
class FakeComm {
  opened: unknown[] = [];
  sent: unknown[] = [];
  closed = false;
  isDisposed = false;
  onMsg: ((msg: { content: { data: unknown } }) => void) | null = null;
  onClose: (() => void) | null = null;
  open(data: unknown) {
    this.opened.push(data);
  }
  send(data: unknown) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  reply(data: unknown) {
    this.onMsg?.({ content: { data } });
  }
  kernelCloses() {
    this.onClose?.();
  }
}

class FakeKernel {
  status = 'idle';
  isDisposed = false;
  comms: FakeComm[] = [];
  anyMessage = new Signal<this, { msg: { header: { msg_type: string } }; direction: string }>(this);
  createComm() {
    const comm = new FakeComm();
    this.comms.push(comm);
    return comm;
  }
  registerCommTarget() {}
  removeCommTarget() {}
  get last() {
    return this.comms[this.comms.length - 1];
  }
  execute() {
    this.anyMessage.emit({ msg: { header: { msg_type: 'execute_request' } }, direction: 'send' });
  }
}

class FakeContext {
  kernelChanged = new Signal<this, { newValue: FakeKernel | null }>(this);
  statusChanged = new Signal<this, string>(this);
  ready = Promise.resolve();
  session: { kernel: FakeKernel | null };
  constructor(kernel: FakeKernel | null) {
    this.session = { kernel };
  }
  setStatus(status: string) {
    if (this.session.kernel) {
      this.session.kernel.status = status;
    }
    this.statusChanged.emit(status);
  }
}

function handlers() {
  const statuses: ConnectionStatus[] = [];
  const h = {
    onHistory: vi.fn(),
    onEvent: vi.fn(),
    onReply: vi.fn(),
    onError: vi.fn(),
    onStatus: (s: ConnectionStatus) => statuses.push(s)
  } satisfies ConnectionHandlers;
  return { h, statuses };
}

async function connect(kernel: FakeKernel | null) {
  const context = new FakeContext(kernel);
  const { h, statuses } = handlers();
  const connection = new MlinternConnection(context as never, h);
  await context.ready;
  await Promise.resolve();
  return { context, connection, h, statuses };
}

describe('MlinternConnection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says a versioned hello, replays the history it gets back, sends commands in envelopes', async () => {
    const kernel = new FakeKernel();
    const { connection, h, statuses } = await connect(kernel);
    expect(kernel.last.opened).toEqual([hello('c1')]);
    // Never over a kernel subshell: deleting one with our close still queued loses it (see comm.ts).
    expect((kernel.last as unknown as { commsOverSubshells: string }).commsOverSubshells).toBe('disabled');
    expect(connection.send({ type: 'stop' })).toBeNull();
    kernel.last.reply({ type: 'events', v: V, events: [{ kind: 'session_ended' }] });
    expect(h.onHistory).toHaveBeenCalledWith([{ kind: 'session_ended' }]);
    expect(statuses).toEqual(['connected']);
    const id = connection.send({ type: 'set_budget', usd: 5 });
    expect(id).toBe('c2');
    expect(kernel.last.sent).toEqual([{ v: V, id: 'c2', command: { type: 'set_budget', usd: 5 } }]);
    kernel.last.reply({ type: 'event', v: V, event: { kind: 'notice', message: 'hi' } });
    expect(h.onEvent).toHaveBeenCalledOnce();
    kernel.last.reply({
      type: 'reply',
      v: V,
      id: 'c2',
      command: 'set_budget',
      ok: true,
      message: 'Budget set'
    });
    expect(h.onReply).toHaveBeenCalledWith({
      id: 'c2',
      command: 'set_budget',
      ok: true,
      message: 'Budget set',
      data: null
    });
  });

  it('stops talking to a kernel of another protocol version and says what to update', async () => {
    const kernel = new FakeKernel();
    const { connection, h, statuses } = await connect(kernel);
    // What a kernel from before the versioned protocol answers to our hello.
    kernel.last.reply({ type: 'error', message: 'unknown or malformed message type None' });
    expect(statuses).toEqual(['incompatible']);
    expect(h.onError.mock.calls[0][1]).toBe('version');
    expect(h.onError.mock.calls[0][0]).toMatch(/upgrade mlintern-jupyter in the kernel/);
    expect(connection.send({ type: 'stop' })).toBeNull();
    expect(h.onHistory).not.toHaveBeenCalled();
  });

  it('waits for an execution before retrying a kernel without the target', async () => {
    const kernel = new FakeKernel();
    const { context, statuses } = await connect(kernel);
    kernel.last.kernelCloses();
    expect(statuses.at(-1)).toBe('not-loaded');
    // The retry itself makes the kernel busy then idle: that alone must not trigger another retry.
    context.setStatus('busy');
    context.setStatus('idle');
    expect(kernel.comms).toHaveLength(1);
    kernel.execute();
    context.setStatus('busy');
    context.setStatus('idle');
    expect(kernel.comms).toHaveLength(2);
    expect(kernel.last.opened).toEqual([hello('c2')]);
  });

  it('calls an unanswered hello on an idle kernel not loaded, but keeps waiting on a busy one', async () => {
    const kernel = new FakeKernel();
    kernel.status = 'busy';
    const { statuses } = await connect(kernel);
    vi.advanceTimersByTime(12_000);
    expect(statuses).toEqual([]); // still connecting
    kernel.status = 'idle';
    vi.advanceTimersByTime(6_000);
    expect(statuses.at(-1)).toBe('not-loaded');
    expect(kernel.comms[0].closed).toBe(true);
  });

  it('reconnects after a kernel restart and follows kernel changes', async () => {
    const kernel = new FakeKernel();
    const { context, statuses } = await connect(kernel);
    kernel.last.reply({ type: 'events', v: V, events: [] });
    context.setStatus('restarting');
    expect(statuses.at(-1)).toBe('restarting');
    context.setStatus('idle');
    expect(kernel.comms).toHaveLength(2);

    const other = new FakeKernel();
    context.session.kernel = other;
    context.kernelChanged.emit({ newValue: other });
    expect(other.comms).toHaveLength(1);
    expect(kernel.comms[1].closed).toBe(true);
  });

  it('reports a notebook without a kernel and stops listening when disposed', async () => {
    const { statuses } = await connect(null);
    expect(statuses).toEqual(['no-kernel']);
    const kernel = new FakeKernel();
    const { connection, context } = await connect(kernel);
    connection.dispose();
    expect(kernel.last.closed).toBe(true);
    kernel.execute();
    context.setStatus('idle');
    expect(kernel.comms).toHaveLength(1);
  });
});
