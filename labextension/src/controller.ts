/**
 * Wires notebooks to the panel: one connection, reduced state and cell inserter per open notebook
 * (so cells land in the right notebook even when it is not the current one); the panel shows the current one.
 */

import { InputDialog } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { CellInserter } from './cells';
import { MlinternConnection, type ConnectionStatus, type FrontendMessage } from './comm';
import type { SessionEvent } from './events';
import type { MlinternPanel, PanelActions, StatusLevel } from './panel';
import { initialState, reduce, reduceAll, type PanelState } from './reducer';
import type { SessionSummary } from './views/sessions';

export const NOT_LOADED_TEXT = 'Run %load_ext mlintern_jupyter in this notebook';

const STATUS_TEXT: Record<ConnectionStatus, [StatusLevel, string]> = {
  'no-kernel': ['warning', 'This notebook has no kernel.'],
  connecting: ['info', 'Connecting to the kernel…'],
  connected: ['ok', ''],
  'not-loaded': ['warning', NOT_LOADED_TEXT],
  restarting: ['info', 'Kernel restarting…'],
  dead: ['error', 'The kernel is dead. Restart it to continue.']
};

class NotebookSession {
  state: PanelState = initialState();
  sessions: SessionSummary[] = [];
  status: ConnectionStatus = 'connecting';
  error = '';
  notice: [StatusLevel, string] | null = null;
  readonly connection: MlinternConnection;
  private inserter: CellInserter;

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
    this.connection = new MlinternConnection(notebook.sessionContext, {
      onHistory: events => {
        this.state = reduceAll(events);
        this.error = '';
        this.notice = null;
        events.forEach(e => this.insertCell(e));
        this.changed(this);
      },
      onEvent: event => {
        this.state = reduce(this.state, event);
        this.insertCell(event);
        this.changed(this);
      },
      onSessions: sessions => {
        this.sessions = sessions;
        this.changed(this);
      },
      onError: message => {
        this.error = message;
        this.changed(this);
      },
      onNotice: (message, level) => {
        this.notice = [level, message];
        this.changed(this);
      },
      onStatus: status => {
        this.status = status;
        this.changed(this);
      }
    });
  }

  send(message: FrontendMessage): boolean {
    const sent = this.connection.send(message);
    if (!sent) {
      this.error = 'Not connected to the agent in this kernel.';
      this.changed(this);
    }
    return sent;
  }

  dispose(): void {
    this.connection.dispose();
  }

  private insertCell(event: SessionEvent): void {
    if (event.kind === 'cell_insert') {
      try {
        this.inserter.insert(event);
      } catch (err) {
        console.error('mlintern: could not insert cell', err);
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

  prompt(text: string): void {
    const current = this.current();
    const cellId = current?.notebook.content.activeCell?.model.id ?? null;
    current?.send({ type: 'prompt', text, cell_id: cellId });
  }

  decide(nonce: string, decision: 'approve' | 'deny', feedback: string): void {
    this.current()?.send({ type: 'approval', nonce, decision, feedback });
  }

  stop(): void {
    this.current()?.send({ type: 'stop' });
  }

  setModel(model: string): void {
    this.current()?.send({ type: 'model', model });
  }

  cancelJob(jobId: string): void {
    this.current()?.send({ type: 'job_cancel', job_id: jobId });
  }

  refresh(): void {
    this.current()?.send({ type: 'sessions' });
  }

  resume(sessionId: string): void {
    this.current()?.send({ type: 'resume', session_id: sessionId });
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
        current.send({
          type: 'export',
          path: result.value,
          session_id: sessionId
        });
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
