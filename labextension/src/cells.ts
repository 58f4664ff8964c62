/**
 * `cell_insert` events become new notebook cells, right below the `%%intern` cell that asked for them.
 *
 * Inserted through the shared model so undo works; never executed; markdown made inert (`inertMarkdown`). Each call id is inserted once: the
 * history replayed on every reconnect carries the same events again, so we look for the call id in the
 * cells' metadata and in the notebook's own record (which also covers cells the person deleted).
 */

import type { ISharedNotebook } from '@jupyter/ydoc';
import type { CellInsert } from './events';
import { inertMarkdown } from './markdown';

export const METADATA_KEY = 'mlintern';

export interface CellInfo {
  id: string;
  metadata: Record<string, unknown>;
}

/** The part of a notebook this module needs; a NotebookPanel's model.sharedModel plus its active cell. */
export interface NotebookTarget {
  sharedModel: ISharedNotebook;
  activeCellIndex: number;
}

function callIdOf(metadata: Record<string, unknown>): string | undefined {
  const own = metadata[METADATA_KEY];
  if (typeof own === 'object' && own !== null) {
    const callId = (own as Record<string, unknown>).call_id;
    return typeof callId === 'string' ? callId : undefined;
  }
  return undefined;
}

export function insertedCallIds(notebookMetadata: Record<string, unknown>): string[] {
  const own = notebookMetadata[METADATA_KEY];
  if (typeof own === 'object' && own !== null) {
    const ids = (own as Record<string, unknown>).inserted_call_ids;
    if (Array.isArray(ids)) {
      return ids.filter((id): id is string => typeof id === 'string');
    }
  }
  return [];
}

export function alreadyInserted(
  cells: CellInfo[],
  notebookMetadata: Record<string, unknown>,
  callId: string
): boolean {
  return (
    insertedCallIds(notebookMetadata).includes(callId) ||
    cells.some(cell => callIdOf(cell.metadata) === callId)
  );
}

/**
 * Where the new cell goes: below the last cell already inserted for this anchor (keeps arrival order),
 * else below the anchor, else below the active cell, else at the end.
 */
export function insertionIndex(
  cells: CellInfo[],
  anchorId: string | null,
  lastInsertedId: string | undefined,
  activeIndex: number
): number {
  const indexOf = (id: string | null | undefined) => (id ? cells.findIndex(cell => cell.id === id) : -1);
  const last = indexOf(lastInsertedId);
  if (last >= 0) {
    return last + 1;
  }
  const anchor = indexOf(anchorId);
  if (anchor >= 0) {
    return anchor + 1;
  }
  if (activeIndex >= 0 && activeIndex < cells.length) {
    return activeIndex + 1;
  }
  return cells.length;
}

function cellInfos(notebook: ISharedNotebook): CellInfo[] {
  return notebook.cells.map(cell => ({
    id: cell.getId(),
    metadata: cell.getMetadata() as Record<string, unknown>
  }));
}

/** Inserts cells into one notebook; remembers, per anchor, the last cell it inserted. */
export class CellInserter {
  private lastByAnchor = new Map<string, string>();
  private seen = new Set<string>();

  constructor(private target: () => NotebookTarget | null) {}

  /** Returns the index of the new cell, or null if it was already there (or there is no notebook). */
  insert(event: CellInsert): number | null {
    const target = this.target();
    if (!target || this.seen.has(event.call_id)) {
      return null;
    }
    const notebook = target.sharedModel;
    const cells = cellInfos(notebook);
    const metadata = notebook.getMetadata() as Record<string, unknown>;
    if (alreadyInserted(cells, metadata, event.call_id)) {
      this.seen.add(event.call_id);
      return null;
    }
    const anchorKey = event.anchor_cell_id ?? '';
    const index = insertionIndex(
      cells,
      event.anchor_cell_id ?? null,
      this.lastByAnchor.get(anchorKey),
      target.activeCellIndex
    );
    const own = metadata[METADATA_KEY];
    const ownRecord = typeof own === 'object' && own !== null ? (own as Record<string, unknown>) : {};
    notebook.transact(() => {
      const cell = notebook.insertCell(index, {
        cell_type: event.cell_type ?? 'code',
        // A markdown cell renders as soon as it shows: no raw HTML, no image fetched by itself.
        source: event.cell_type === 'markdown' ? inertMarkdown(event.source) : event.source,
        metadata: {
          [METADATA_KEY]: {
            session_id: event.session_id,
            call_id: event.call_id
          }
        }
      });
      this.lastByAnchor.set(anchorKey, cell.getId());
      notebook.setMetadata(METADATA_KEY, {
        ...ownRecord,
        inserted_call_ids: [...insertedCallIds(metadata), event.call_id]
      });
    });
    this.seen.add(event.call_id);
    return index;
  }
}
