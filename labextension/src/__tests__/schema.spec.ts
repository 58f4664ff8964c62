/**
 * events.ts is generated from the JSON Schema of agent/events.py (events.schema.json, STYLE.md rule 10); this
 * checks the generated runtime specs against that schema, so a hand edit of either file fails here too.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_SPECS, JOB_TERMINAL_STATUSES, type EventKind } from '../events';

interface Def {
  properties: Record<string, { const?: string }>;
  required?: string[];
}

const SCHEMA = JSON.parse(
  readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../events.schema.json'), 'utf-8')
) as { $defs: Record<string, Def>; oneOf: Array<{ $ref: string }>; 'x-job-terminal-statuses': string[] };

function schemaEvents(): Map<string, Def> {
  const result = new Map<string, Def>();
  for (const { $ref } of SCHEMA.oneOf) {
    const def = SCHEMA.$defs[$ref.split('/').pop() as string];
    result.set(def.properties.kind.const as string, def);
  }
  return result;
}

describe('events.ts matches events.schema.json', () => {
  const events = schemaEvents();

  it('has the same kinds', () => {
    expect(events.size).toBeGreaterThan(30);
    expect(Object.keys(EVENT_SPECS).sort()).toEqual([...events.keys()].sort());
  });

  it('checks every field, required exactly where the schema requires it', () => {
    for (const [kind, def] of events) {
      const spec = EVENT_SPECS[kind as EventKind];
      const fields = Object.keys(def.properties).filter(
        f => !['kind', 'session_id', 'seq', 'ts'].includes(f)
      );
      expect(Object.keys(spec.required).sort(), kind).toEqual((def.required ?? []).slice().sort());
      expect([...Object.keys(spec.required), ...Object.keys(spec.optional)].sort(), kind).toEqual(
        fields.sort()
      );
    }
  });

  it('knows the terminal job stages', () => {
    expect([...JOB_TERMINAL_STATUSES]).toEqual(SCHEMA['x-job-terminal-statuses']);
  });
});
