/**
 * events.ts must mirror agent/events.py (STYLE.md rule 10): every kind and every field, checked against the
 * Python source itself so a field added there fails here until it is mirrored.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_SPECS, type EventKind } from '../events';

const EVENTS_PY = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../mlintern_jupyter/agent/events.py'
);

function pythonEvents(): Map<string, string[]> {
  const source = readFileSync(EVENTS_PY, 'utf-8');
  const result = new Map<string, string[]>();
  for (const block of source.split(/\n(?=@dataclass)/)) {
    const kind = /\n {4}kind: Literal\["(\w+)"\]/.exec(block)?.[1];
    if (!kind) {
      continue;
    }
    const fields = [...block.matchAll(/\n {4}(\w+): /g)].map(m => m[1]).filter(name => name !== 'kind');
    result.set(kind, fields);
  }
  return result;
}

describe('events.ts mirrors events.py', () => {
  const python = pythonEvents();

  it('has the same kinds', () => {
    expect(python.size).toBeGreaterThan(20);
    expect(Object.keys(EVENT_SPECS).sort()).toEqual([...python.keys()].sort());
  });

  it('checks every field', () => {
    for (const [kind, fields] of python) {
      const spec = EVENT_SPECS[kind as EventKind];
      const known = new Set([...Object.keys(spec.required ?? {}), ...Object.keys(spec.optional ?? {})]);
      expect(
        [...fields].filter(f => !known.has(f)),
        kind
      ).toEqual([]);
      expect(
        [...known].filter(f => !fields.includes(f)),
        kind
      ).toEqual([]);
    }
  });
});
