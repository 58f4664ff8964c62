/**
 * `cell_insert` events become new notebook cells, right below the `%%intern` cell that asked for them.
 *
 * Inserted through the shared model so undo works; never executed; markdown made inert (`inertMarkdown`).
 * Each insertion has a stable id, session id + call id (the demo model reuses call ids across sessions, so the call
 * id alone is not enough). A writer inserts it at most once and finds it again: the id is in the cell's metadata
 * and in the notebook's own record (which also covers cells the person deleted). A cell the kernel's
 * set_next_input fallback wrote has no metadata (its payload carries only text): the panel finds it by its source
 * below the anchor and stamps it (`adopt`), instead of inserting a second copy.
 */

import type { ISharedNotebook } from '@jupyter/ydoc';
import type { CellInsert } from './events';
import { inertMarkdown } from './markdown';

export const METADATA_KEY = 'mlintern';

export interface CellInfo {
  id: string;
  metadata: Record<string, unknown>;
  source?: string;
}

/** The part of a notebook this module needs; a NotebookPanel's model.sharedModel plus its active cell. */
export interface NotebookTarget {
  sharedModel: ISharedNotebook;
  activeCellIndex: number;
}

export type InsertResult = 'inserted' | 'found';

/** The stable id of an insertion: the same in the kernel, the panel and a headless writer. */
export function insertId(event: Pick<CellInsert, 'session_id' | 'call_id'>): string {
  return `${event.session_id ?? ''}:${event.call_id}`;
}

function ownRecord(metadata: Record<string, unknown>): Record<string, unknown> | null {
  const own = metadata[METADATA_KEY];
  return typeof own === 'object' && own !== null ? (own as Record<string, unknown>) : null;
}

function cellInsertId(metadata: Record<string, unknown>): string | undefined {
  const own = ownRecord(metadata);
  if (!own) {
    return undefined;
  }
  if (typeof own.insert_id === 'string') {
    return own.insert_id;
  }
  // Cells inserted before insert ids: session id and call id side by side.
  return typeof own.call_id === 'string' && typeof own.session_id === 'string'
    ? `${own.session_id}:${own.call_id}`
    : undefined;
}

export function insertedIds(notebookMetadata: Record<string, unknown>): string[] {
  const ids = ownRecord(notebookMetadata)?.inserted;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

export function alreadyInserted(
  cells: CellInfo[],
  notebookMetadata: Record<string, unknown>,
  id: string
): boolean {
  return insertedIds(notebookMetadata).includes(id) || cells.some(cell => cellInsertId(cell.metadata) === id);
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

/** The fallback's cell: the first cell after the anchor (within a few) with the same source and no id of ours. */
export function fallbackCellIndex(cells: CellInfo[], anchorId: string | null, source: string): number {
  const anchor = anchorId ? cells.findIndex(cell => cell.id === anchorId) : -1;
  const start = anchor >= 0 ? anchor + 1 : 0;
  const stop = anchor >= 0 ? Math.min(cells.length, start + 8) : cells.length;
  for (let i = start; i < stop; i++) {
    if (cellInsertId(cells[i].metadata) === undefined && (cells[i].source ?? '') === source) {
      return i;
    }
  }
  return -1;
}

function cellInfos(notebook: ISharedNotebook): CellInfo[] {
  return notebook.cells.map(cell => ({
    id: cell.getId(),
    metadata: cell.getMetadata() as Record<string, unknown>,
    source: cell.getSource()
  }));
}

/** Inserts cells into one notebook; remembers, per anchor, the last cell it inserted. */
export class CellInserter {
  private lastByAnchor = new Map<string, string>();

  constructor(private target: () => NotebookTarget | null) {}

  /** 'inserted', 'found' (already there, or deleted by the person), or null when there is no notebook. */
  insert(event: CellInsert): InsertResult | null {
    const found = this.look(event);
    if (found === null || found.result) {
      return found?.result ?? null;
    }
    const { target, cells, metadata } = found;
    const notebook = target.sharedModel;
    const anchorKey = event.anchor_cell_id ?? '';
    const index = insertionIndex(
      cells,
      event.anchor_cell_id ?? null,
      this.lastByAnchor.get(anchorKey),
      target.activeCellIndex
    );
    notebook.transact(() => {
      const cell = notebook.insertCell(index, {
        cell_type: event.cell_type ?? 'code',
        // A markdown cell renders as soon as it shows: no raw HTML, no image fetched by itself.
        source: event.cell_type === 'markdown' ? inertMarkdown(event.source) : event.source,
        metadata: { [METADATA_KEY]: this.stamp(event) }
      });
      this.lastByAnchor.set(anchorKey, cell.getId());
      this.record(notebook, metadata, insertId(event));
    });
    return 'inserted';
  }

  /**
   * The kernel wrote this insertion (set_next_input): find its cell and stamp it with the stable id.
   * 'found' once it is there (or already stamped, or deleted after stamping), null while it is not (yet).
   */
  adopt(event: CellInsert): InsertResult | null {
    const found = this.look(event);
    if (found === null || found.result) {
      return found?.result ?? null;
    }
    const { target, cells, metadata } = found;
    const notebook = target.sharedModel;
    const index = fallbackCellIndex(cells, event.anchor_cell_id ?? null, event.source);
    if (index < 0) {
      return null;
    }
    notebook.transact(() => {
      const cell = notebook.cells[index];
      cell.setMetadata({
        ...(cell.getMetadata() as Record<string, unknown>),
        [METADATA_KEY]: this.stamp(event)
      });
      this.lastByAnchor.set(event.anchor_cell_id ?? '', cell.getId());
      this.record(notebook, metadata, insertId(event));
    });
    return 'found';
  }

  /** The notebook as it is now; `result` is 'found' when the insertion is already in it (null: no notebook). */
  private look(event: CellInsert): {
    target: NotebookTarget;
    cells: CellInfo[];
    metadata: Record<string, unknown>;
    result: InsertResult | null;
  } | null {
    const target = this.target();
    if (!target) {
      return null;
    }
    const cells = cellInfos(target.sharedModel);
    const metadata = target.sharedModel.getMetadata() as Record<string, unknown>;
    return {
      target,
      cells,
      metadata,
      result: alreadyInserted(cells, metadata, insertId(event)) ? 'found' : null
    };
  }

  private stamp(event: CellInsert): Record<string, string> {
    return { session_id: event.session_id ?? '', call_id: event.call_id, insert_id: insertId(event) };
  }

  private record(notebook: ISharedNotebook, metadata: Record<string, unknown>, id: string): void {
    notebook.setMetadata(METADATA_KEY, {
      ...(ownRecord(metadata) ?? {}),
      inserted: [...insertedIds(metadata), id]
    });
  }
}
