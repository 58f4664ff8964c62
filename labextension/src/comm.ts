/**
 * One notebook's link to the agent in its kernel: a comm on target `mlintern`.
 *
 * Every message the panel sends is a typed command (`commands.ts`, generated from the kernel's schema) in the
 * envelope `{v, id, command}`; the kernel answers each with a `reply` of the same id. Messages from a kernel of
 * another protocol version (or of none: older kernels) are not acted on: the panel says which side to update.
 *
 * Follows kernel changes and restarts. If the kernel has no `mlintern` target (the extension is not loaded),
 * the open is answered with a close; we then wait for the next execution in that kernel before trying
 * again, so the retry itself (which makes the kernel busy, then idle) cannot loop.
 */

import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { PROTOCOL_VERSION, type Command, type CommandMessage } from './commands';
import { isSessionEvent, type SessionEvent } from './events';

export const COMM_TARGET = 'mlintern';

/** The comm's JSON payload type; a command envelope is plain JSON. */
type Payload = Parameters<Kernel.IComm['send']>[0];
const payload = (message: CommandMessage): Payload => message as unknown as Payload;

/** The kernel's answer to one command. */
export interface CommandReply {
  id: string | null;
  command: string | null;
  ok: boolean;
  message: string;
  data: Record<string, unknown> | null;
}

/** Messages the kernel sends. */
export type KernelReply =
  | { type: 'events'; events: SessionEvent[]; sessionId: string | null }
  | { type: 'event'; event: SessionEvent }
  | { type: 'reply'; reply: CommandReply }
  | { type: 'error'; code: string; message: string };

export type ConnectionStatus =
  'no-kernel' | 'connecting' | 'connected' | 'not-loaded' | 'restarting' | 'dead' | 'incompatible';

export interface ConnectionHandlers {
  /** Full history: reset and replay. */
  onHistory(events: SessionEvent[]): void;
  onEvent(event: SessionEvent): void;
  /** The answer to a command (`send` returned its id). */
  onReply(reply: CommandReply): void;
  /** A kernel-side problem not tied to a command, or a protocol version mismatch (code 'version'). */
  onError(message: string, code: string): void;
  onStatus(status: ConnectionStatus): void;
}

/** What the panel shows when the kernel speaks another protocol version. */
export function versionMessage(kernelVersion: unknown): string {
  if (typeof kernelVersion === 'number' && kernelVersion > PROTOCOL_VERSION) {
    return (
      `The kernel's mlintern-jupyter speaks protocol ${kernelVersion}, this panel ${PROTOCOL_VERSION}: ` +
      'reload the page (restart JupyterLab after an upgrade) so the panel matches the kernel.'
    );
  }
  const spoken = typeof kernelVersion === 'number' ? kernelVersion : 1;
  return (
    `The kernel's mlintern-jupyter speaks protocol ${spoken}, this panel ${PROTOCOL_VERSION}: upgrade ` +
    "mlintern-jupyter in the kernel's environment and restart the kernel."
  );
}

/** Parse one comm payload; invalid events are dropped (and logged) instead of breaking the panel. */
export function parseKernelReply(data: unknown): KernelReply | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const msg = data as Record<string, unknown>;
  if (msg.v !== PROTOCOL_VERSION) {
    return { type: 'error', code: 'version', message: versionMessage(msg.v) };
  }
  switch (msg.type) {
    case 'events': {
      const raw = Array.isArray(msg.events) ? msg.events : [];
      const events = raw.filter(isSessionEvent);
      if (events.length !== raw.length) {
        console.warn(`mlintern: dropped ${raw.length - events.length} malformed events`);
      }
      return {
        type: 'events',
        events,
        sessionId: typeof msg.session_id === 'string' ? msg.session_id : null
      };
    }
    case 'event':
      if (isSessionEvent(msg.event)) {
        return { type: 'event', event: msg.event };
      }
      console.warn('mlintern: dropped malformed event', msg.event);
      return null;
    case 'reply':
      return {
        type: 'reply',
        reply: {
          id: typeof msg.id === 'string' ? msg.id : null,
          command: typeof msg.command === 'string' ? msg.command : null,
          ok: msg.ok === true,
          message: String(msg.message ?? ''),
          data:
            typeof msg.data === 'object' && msg.data !== null ? (msg.data as Record<string, unknown>) : null
        }
      };
    case 'error':
      return {
        type: 'error',
        code: String(msg.code ?? 'invalid'),
        message: String(msg.message ?? 'unknown error')
      };
    default:
      return null;
  }
}

/** How long an unanswered hello may wait on an idle kernel before we call the extension not loaded. */
const HELLO_TIMEOUT_MS = 5000;

export class MlinternConnection implements IDisposable {
  private comm: Kernel.IComm | null = null;
  private kernel: Kernel.IKernelConnection | null = null;
  private status: ConnectionStatus = 'connecting';
  private executedSinceAttempt = false;
  private helloTimer: number | undefined;
  private disposed = false;
  private nextId = 0;

  constructor(
    private sessionContext: ISessionContext,
    private handlers: ConnectionHandlers
  ) {
    sessionContext.kernelChanged.connect(this.onKernelChanged, this);
    sessionContext.statusChanged.connect(this.onStatusChanged, this);
    void sessionContext.ready.then(() => this.attach(sessionContext.session?.kernel ?? null));
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  /** Send a command; returns its id (the kernel's reply carries it), or null when not connected. */
  send(command: Command): string | null {
    if (!this.comm || this.comm.isDisposed || this.status !== 'connected') {
      return null;
    }
    const message = this.envelope(command);
    this.comm.send(payload(message));
    return message.id;
  }

  private envelope(command: Command): CommandMessage {
    this.nextId += 1;
    return { v: PROTOCOL_VERSION, id: `c${this.nextId}`, command };
  }

  /** Try again now (e.g. after the user ran %load_ext). */
  reconnect(): void {
    this.closeComm();
    this.open();
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.sessionContext.kernelChanged.disconnect(this.onKernelChanged, this);
    this.sessionContext.statusChanged.disconnect(this.onStatusChanged, this);
    this.detach();
  }

  private attach(kernel: Kernel.IKernelConnection | null): void {
    if (this.disposed || (kernel !== null && kernel === this.kernel)) {
      return;
    }
    this.detach();
    this.kernel = kernel;
    if (!kernel) {
      this.setStatus('no-kernel');
      return;
    }
    kernel.anyMessage.connect(this.onAnyMessage, this);
    try {
      // Lets a kernel that loads the extension later announce itself.
      kernel.registerCommTarget(COMM_TARGET, (comm, msg) => this.adopt(comm, msg));
    } catch (err) {
      console.warn('mlintern: cannot register comm target', err);
    }
    this.open();
  }

  private detach(): void {
    this.closeComm();
    if (this.kernel) {
      this.kernel.anyMessage.disconnect(this.onAnyMessage, this);
      if (!this.kernel.isDisposed) {
        try {
          this.kernel.removeCommTarget(COMM_TARGET, () => undefined);
        } catch {
          // the kernel may already be gone
        }
      }
    }
    this.kernel = null;
  }

  private open(): void {
    const kernel = this.kernel;
    if (this.disposed || !kernel || kernel.isDisposed) {
      return;
    }
    this.executedSinceAttempt = false;
    let comm: Kernel.IComm;
    try {
      comm = kernel.createComm(COMM_TARGET);
    } catch (err) {
      console.warn('mlintern: cannot create comm', err);
      this.setStatus('not-loaded');
      return;
    }
    this.wire(comm);
    this.setStatus('connecting');
    try {
      comm.open(payload(this.envelope({ type: 'hello' })));
    } catch (err) {
      console.warn('mlintern: comm open failed', err);
      this.onCommClosed(comm);
      return;
    }
    this.armHelloTimeout(comm);
  }

  private adopt(comm: Kernel.IComm, msg: KernelMessage.ICommOpenMsg): void {
    this.closeComm();
    this.wire(comm);
    this.setStatus('connecting');
    this.handle(comm, msg.content.data);
    comm.send(payload(this.envelope({ type: 'hello' })));
    this.armHelloTimeout(comm);
  }

  private wire(comm: Kernel.IComm): void {
    // Not over a kernel subshell (JupyterLab 4.4+ puts each comm target on one by default). The panel opens and
    // closes its comm whenever the kernel has no target yet; each close deletes that subshell, and ipykernel
    // stops the subshell's loop with the close message still queued on it: the message is lost and the kernel
    // prints "Task was destroyed but it is pending! ... run_in_context" into the running cell (issue 13).
    // Set before the comm's first microtask runs, so no subshell is ever requested for it.
    comm.commsOverSubshells = 'disabled' as Kernel.IComm['commsOverSubshells'];
    this.comm = comm;
    comm.onMsg = msg => this.handle(comm, msg.content.data);
    comm.onClose = () => this.onCommClosed(comm);
  }

  private handle(comm: Kernel.IComm, data: unknown): void {
    if (comm !== this.comm || this.disposed) {
      return;
    }
    const reply = parseKernelReply(data);
    if (!reply) {
      return;
    }
    if (reply.type === 'error' && reply.code === 'version') {
      // Nothing of this kernel's can be trusted to mean what this panel thinks: stop talking to it.
      window.clearTimeout(this.helloTimer);
      this.setStatus('incompatible');
      this.handlers.onError(reply.message, reply.code);
      return;
    }
    if (this.status !== 'connected') {
      window.clearTimeout(this.helloTimer);
      this.setStatus('connected');
    }
    switch (reply.type) {
      case 'events':
        this.handlers.onHistory(reply.events);
        break;
      case 'event':
        this.handlers.onEvent(reply.event);
        break;
      case 'reply':
        this.handlers.onReply(reply.reply);
        break;
      case 'error':
        this.handlers.onError(reply.message, reply.code);
        break;
    }
  }

  private armHelloTimeout(comm: Kernel.IComm): void {
    window.clearTimeout(this.helloTimer);
    this.helloTimer = window.setTimeout(() => {
      if (comm !== this.comm || this.status === 'connected') {
        return;
      }
      // A busy kernel answers comm messages only after the running cell: keep waiting then.
      if (this.kernel?.status === 'busy') {
        this.armHelloTimeout(comm);
        return;
      }
      this.closeComm();
      this.setStatus('not-loaded');
    }, HELLO_TIMEOUT_MS);
  }

  private onCommClosed(comm: Kernel.IComm): void {
    if (comm !== this.comm) {
      return;
    }
    window.clearTimeout(this.helloTimer);
    this.comm = null;
    if (!this.disposed && this.status !== 'incompatible') {
      this.setStatus('not-loaded');
    }
  }

  private closeComm(): void {
    window.clearTimeout(this.helloTimer);
    const comm = this.comm;
    this.comm = null;
    if (comm && !comm.isDisposed) {
      try {
        comm.close();
      } catch {
        // closing a comm of a dead kernel throws; nothing to clean up then
      }
    }
  }

  private onKernelChanged(_: ISessionContext, change: { newValue: Kernel.IKernelConnection | null }): void {
    this.attach(change.newValue);
  }

  private onStatusChanged(_: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting') {
      // The kernel forgets its comms on restart; ours is dead without a close message.
      this.comm = null;
      window.clearTimeout(this.helloTimer);
      this.setStatus('restarting');
      this.executedSinceAttempt = true;
    } else if (status === 'dead') {
      this.comm = null;
      this.setStatus('dead');
    } else if (status === 'idle' && this.comm === null && this.executedSinceAttempt) {
      this.open();
    }
  }

  private onAnyMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const type = args.msg.header.msg_type;
    if (type === 'execute_request' || type === 'execute_input') {
      this.executedSinceAttempt = true;
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status !== this.status) {
      this.status = status;
      this.handlers.onStatus(status);
    }
  }
}
