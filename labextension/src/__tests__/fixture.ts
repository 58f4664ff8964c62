import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared fixture: one event of every kind, also checked by pytest. */
export const FIXTURE_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../tests/fixtures/events.jsonl'
);

export function fixtureLines(): unknown[] {
  return readFileSync(FIXTURE_PATH, 'utf-8')
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as unknown);
}
