/**
 * One notebook's link to the agent in its kernel: a comm on target `mlintern`.
 *
 * Follows kernel changes and restarts. If the kernel has no `mlintern` target (the extension is not loaded),
 * the open is answered with a close; we then wait for the next execution in that kernel before trying
 * again, so the retry itself (which makes the kernel busy, then idle) cannot loop.
 */

import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { isSessionEvent, type SessionEvent } from './events';
import { isSessionSummary, type SessionSummary } from './views/sessions';

export const COMM_TARGET = 'mlintern';

/** Messages the frontend sends. */
export type FrontendMessage =
  | { type: 'hello' }
  | { type: 'prompt'; text: string; cell_id: string | null }
  | {
      type: 'approval';
      nonce: string;
      decision: 'approve' | 'deny';
      feedback: string;
    }
  | { type: 'stop' }
  | { type: 'model'; model: string }
  | { type: 'job_cancel'; job_id: string }
  | { type: 'sessions' }
  | { type: 'resume'; session_id: string }
  | { type: 'export'; path: string; session_id?: string };

/** Messages the kernel sends. */
export type KernelReply =
  | { type: 'events'; events: SessionEvent[] }
  | { type: 'event'; event: SessionEvent }
  | { type: 'sessions'; sessions: SessionSummary[] }
  | { type: 'notice'; message: string }
  | { type: 'approval_ack'; nonce: string; ok: boolean }
  | { type: 'error'; message: string };

export type ConnectionStatus =
  'no-kernel' | 'connecting' | 'connected' | 'not-loaded' | 'restarting' | 'dead';

export interface ConnectionHandlers {
  /** Full history: reset and replay. */
  onHistory(events: SessionEvent[]): void;
  onEvent(event: SessionEvent): void;
  onSessions(sessions: SessionSummary[]): void;
  onError(message: string): void;
  /** A reply to `model`, `resume` or `export`, or a refused approval: shown, not part of the session. */
  onNotice(message: string, level: 'info' | 'error'): void;
  onStatus(status: ConnectionStatus): void;
}

/** Parse one comm payload; invalid events are dropped (and logged) instead of breaking the panel. */
export function parseKernelReply(data: unknown): KernelReply | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const msg = data as Record<string, unknown>;
  switch (msg.type) {
    case 'events': {
      const raw = Array.isArray(msg.events) ? msg.events : [];
      const events = raw.filter(isSessionEvent);
      if (events.length !== raw.length) {
        console.warn(`mlintern: dropped ${raw.length - events.length} malformed events`);
      }
      return { type: 'events', events };
    }
    case 'event':
      if (isSessionEvent(msg.event)) {
        return { type: 'event', event: msg.event };
      }
      console.warn('mlintern: dropped malformed event', msg.event);
      return null;
    case 'sessions':
      return {
        type: 'sessions',
        sessions: Array.isArray(msg.sessions) ? msg.sessions.filter(isSessionSummary) : []
      };
    case 'notice':
      return { type: 'notice', message: String(msg.message ?? '') };
    case 'approval_ack':
      return { type: 'approval_ack', nonce: String(msg.nonce ?? ''), ok: msg.ok === true };
    case 'error':
      return { type: 'error', message: String(msg.message ?? 'unknown error') };
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

  send(message: FrontendMessage): boolean {
    if (!this.comm || this.comm.isDisposed || this.status !== 'connected') {
      return false;
    }
    this.comm.send(message);
    return true;
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
      comm.open({ type: 'hello' });
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
    comm.send({ type: 'hello' });
    this.armHelloTimeout(comm);
  }

  private wire(comm: Kernel.IComm): void {
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
      case 'sessions':
        this.handlers.onSessions(reply.sessions);
        break;
      case 'notice':
        this.handlers.onNotice(reply.message, 'info');
        break;
      case 'approval_ack':
        if (!reply.ok) {
          this.handlers.onNotice(
            'The kernel refused that answer: the approval expired or was already used.',
            'error'
          );
        }
        break;
      case 'error':
        this.handlers.onError(reply.message);
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
    if (!this.disposed) {
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
