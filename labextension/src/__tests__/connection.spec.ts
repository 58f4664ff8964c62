import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MlinternConnection, type ConnectionHandlers, type ConnectionStatus } from '../comm';

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
    onSessions: vi.fn(),
    onError: vi.fn(),
    onNotice: vi.fn(),
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

  it('says hello and replays the history it gets back', async () => {
    const kernel = new FakeKernel();
    const { connection, h, statuses } = await connect(kernel);
    expect(kernel.last.opened).toEqual([{ type: 'hello' }]);
    expect(connection.send({ type: 'stop' })).toBe(false);
    kernel.last.reply({ type: 'events', events: [{ kind: 'session_ended' }] });
    expect(h.onHistory).toHaveBeenCalledWith([{ kind: 'session_ended' }]);
    expect(statuses).toEqual(['connected']);
    expect(connection.send({ type: 'stop' })).toBe(true);
    expect(kernel.last.sent).toEqual([{ type: 'stop' }]);
    kernel.last.reply({ type: 'event', event: { kind: 'notice', message: 'hi' } });
    expect(h.onEvent).toHaveBeenCalledOnce();
    kernel.last.reply({ type: 'notice', message: 'model set' });
    kernel.last.reply({ type: 'approval_ack', nonce: 'n', ok: true });
    kernel.last.reply({ type: 'approval_ack', nonce: 'n', ok: false });
    expect(h.onNotice.mock.calls.map(c => c[1])).toEqual(['info', 'error']);
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
    expect(kernel.last.opened).toEqual([{ type: 'hello' }]);
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
    kernel.last.reply({ type: 'events', events: [] });
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
