import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMAND_RULES, commandProblem, isCommand, PROTOCOL_VERSION } from '../commands';

/** The shared fixture: one valid example of every command and invalid ones, also checked by pytest. */
const FIXTURE = JSON.parse(
  readFileSync(
    resolve(dirname(fileURLToPath(import.meta.url)), '../../../tests/fixtures/commands.json'),
    'utf-8'
  )
) as { valid: unknown[]; invalid: unknown[] };

describe('generated commands', () => {
  it('know every command the kernel knows, and accept each valid example', () => {
    const types = new Set(FIXTURE.valid.map(c => (c as { type: string }).type));
    expect([...types].sort()).toEqual(Object.keys(COMMAND_RULES).sort());
    for (const command of FIXTURE.valid) {
      expect(commandProblem(command), JSON.stringify(command)).toBeNull();
    }
  });

  it('refuse every invalid example the kernel refuses', () => {
    for (const command of FIXTURE.invalid) {
      expect(isCommand(command), JSON.stringify(command)).toBe(false);
    }
    expect(commandProblem({ type: 'set_budget', usd: -5 })).toBe('usd must be at least 0');
    expect(commandProblem({ type: 'set_approve_mode', mode: 'maybe' })).toBe(
      'mode must be one of ask, auto, deny'
    );
  });

  it('carry the protocol version of the schema they were generated from', () => {
    const schema = JSON.parse(
      readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../commands.schema.json'), 'utf-8')
    ) as Record<string, unknown>;
    expect(PROTOCOL_VERSION).toBe(schema['x-protocol-version']);
  });
});
