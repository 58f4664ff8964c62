/**
 * Wires notebooks to the panel: one connection, reduced state and cell inserter per open notebook
 * (so cells land in the right notebook even when it is not the current one); the panel shows the current one.
 */

import { InputDialog } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { CellInserter, insertId, type InsertResult } from './cells';
import type { Command } from './commands';
import { MlinternConnection, type CommandReply, type ConnectionStatus } from './comm';
import type { CellInsert, SessionEvent } from './events';
import type { MlinternPanel, PanelActions, StatusLevel } from './panel';
import { initialState, reduce, reduceAll, type PanelState } from './reducer';
import { isSessionSummary, type SessionSummary } from './views/sessions';

export const NOT_LOADED_TEXT = 'Run %load_ext mlintern_jupyter in this notebook';

const STATUS_TEXT: Record<ConnectionStatus, [StatusLevel, string]> = {
  'no-kernel': ['warning', 'This notebook has no kernel.'],
  connecting: ['info', 'Connecting to the kernel…'],
  connected: ['ok', ''],
  'not-loaded': ['warning', NOT_LOADED_TEXT],
  restarting: ['info', 'Kernel restarting…'],
  dead: ['error', 'The kernel is dead. Restart it to continue.'],
  incompatible: ['error', 'The kernel speaks another mlintern protocol version.']
};

/** How long the panel looks for a cell the kernel's fallback wrote before it says the cell is missing. */
const ADOPT_WINDOW_MS = 10_000;

class NotebookSession {
  state: PanelState = initialState();
  sessions: SessionSummary[] = [];
  status: ConnectionStatus = 'connecting';
  error = '';
  notice: [StatusLevel, string] | null = null;
  readonly connection: MlinternConnection;
  private inserter: CellInserter;
  /** Who already placed each insertion (from cell_placed events): the panel acknowledges only new placements. */
  private placed = new Map<string, string>();
  /** Insertions the kernel wrote whose cell has not shown up yet (the execute reply may still be on its way). */
  private adopting = new Map<string, { event: CellInsert; since: number }>();

  constructor(
    readonly notebook: NotebookPanel,
    private changed: (session: NotebookSession) => void
  ) {
    this.inserter = new CellInserter(() =>
      notebook.isDisposed || !notebook.model
        ? null
        : {
            sharedModel: notebook.model.sharedModel,
            activeCellIndex: notebook.content.activeCellIndex
          }
    );
    notebook.model?.sharedModel.changed.connect(this.retryAdoptions, this);
    this.connection = new MlinternConnection(notebook.sessionContext, {
      onHistory: events => {
        this.state = reduceAll(events);
        this.error = '';
        this.notice = null;
        this.placed.clear();
        this.adopting.clear();
        events.forEach(e => this.notePlacement(e));
        events.forEach(e => this.placeCell(e));
        this.changed(this);
      },
      onEvent: event => {
        this.state = reduce(this.state, event);
        this.notePlacement(event);
        this.placeCell(event);
        this.changed(this);
      },
      onReply: reply => this.onReply(reply),
      onError: message => {
        this.error = message;
        this.changed(this);
      },
      onStatus: status => {
        this.status = status;
        this.changed(this);
      }
    });
  }

  send(command: Command): boolean {
    const sent = this.connection.send(command) !== null;
    if (!sent) {
      this.error = 'Not connected to the agent in this kernel.';
      this.changed(this);
    }
    return sent;
  }

  dispose(): void {
    this.notebook.model?.sharedModel.changed.disconnect(this.retryAdoptions, this);
    this.connection.dispose();
  }

  private onReply(reply: CommandReply): void {
    if (reply.command === 'sessions' && Array.isArray(reply.data?.sessions)) {
      this.sessions = reply.data.sessions.filter(isSessionSummary);
    } else if (reply.command === 'cell_ack') {
      return; // bookkeeping between panel and kernel (a session switched meanwhile is no news for the person)
    } else if (reply.message || !reply.ok) {
      this.notice = [reply.ok ? 'info' : 'error', reply.message || 'The kernel refused that.'];
    }
    this.error = '';
    this.changed(this);
  }

  private notePlacement(event: SessionEvent): void {
    if (event.kind === 'cell_placed' && event.how !== 'missing') {
      const id = insertId(event);
      if (!this.placed.has(id)) {
        this.placed.set(id, event.by);
      }
    }
  }

  /**
   * Exactly one writer per insertion: a cell the kernel already wrote is found and stamped, never inserted
   * again; any other is inserted here (or found, after a reload) and acknowledged, so the kernel's fallback
   * stays out of it.
   */
  private placeCell(event: SessionEvent): void {
    if (event.kind !== 'cell_insert') {
      return;
    }
    const id = insertId(event);
    try {
      if (this.placed.get(id) === 'kernel') {
        if (this.inserter.adopt(event) === null) {
          this.adopting.set(id, { event, since: Date.now() });
        }
        return;
      }
      const result = this.inserter.insert(event);
      if (result && !this.placed.has(id)) {
        this.acknowledge(event, result);
      }
    } catch (err) {
      console.error('mlintern: could not insert cell', err);
    }
  }

  private acknowledge(event: CellInsert, result: InsertResult | 'missing'): void {
    this.placed.set(insertId(event), 'panel');
    this.connection.send({
      type: 'cell_ack',
      session_id: event.session_id ?? '',
      call_id: event.call_id,
      result
    });
  }

  private retryAdoptions(): void {
    for (const [id, { event, since }] of this.adopting) {
      if (this.inserter.adopt(event) !== null) {
        this.adopting.delete(id);
      } else if (Date.now() - since > ADOPT_WINDOW_MS) {
        this.adopting.delete(id);
      }
    }
  }
}

export class PanelController implements PanelActions {
  private sessions = new Map<NotebookPanel, NotebookSession>();
  private panel: MlinternPanel | null = null;

  constructor(private tracker: INotebookTracker) {
    tracker.forEach(notebook => this.track(notebook));
    tracker.widgetAdded.connect((_, notebook) => this.track(notebook));
    tracker.currentChanged.connect(() => this.show());
  }

  attach(panel: MlinternPanel): void {
    this.panel = panel;
    this.show();
  }

  // ---- PanelActions ------------------------------------------------------------------------------

  send(command: Command): void {
    this.current()?.send(command);
  }

  prompt(text: string): void {
    const current = this.current();
    const cellId = current?.notebook.content.activeCell?.model.id ?? null;
    current?.send({ type: 'prompt', text, cell_id: cellId });
  }

  exportSession(sessionId: string): void {
    const current = this.current();
    if (!current) {
      return;
    }
    void InputDialog.getText({
      title: 'Export session as notebook',
      label: 'Path (relative to the kernel working directory)',
      text: `mlintern-${sessionId}.ipynb`
    }).then(result => {
      if (result.button.accept && result.value) {
        current.send({ type: 'export', path: result.value, session_id: sessionId });
      }
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  private current(): NotebookSession | null {
    const notebook = this.tracker.currentWidget;
    return notebook ? (this.sessions.get(notebook) ?? null) : null;
  }

  private track(notebook: NotebookPanel): void {
    if (this.sessions.has(notebook)) {
      return;
    }
    const session = new NotebookSession(notebook, changed => {
      if (changed === this.current()) {
        this.show();
      }
    });
    this.sessions.set(notebook, session);
    notebook.disposed.connect(() => {
      session.dispose();
      this.sessions.delete(notebook);
      this.show();
    });
  }

  private show(): void {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const session = this.current();
    if (!session) {
      panel.setState(initialState());
      panel.setSessions([]);
      panel.setConnected(false);
      panel.setStatus('info', 'Open a notebook to work with the intern.');
      return;
    }
    panel.setState(session.state);
    panel.setSessions(session.sessions);
    panel.setConnected(session.status === 'connected');
    const [level, text] = session.error
      ? (['error', session.error] as const)
      : session.status === 'connected' && session.notice
        ? session.notice
        : STATUS_TEXT[session.status];
    panel.setStatus(level, text);
  }
}
