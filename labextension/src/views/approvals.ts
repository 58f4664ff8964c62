/**
 * Pending approvals, one card per request, shared by the side panel and the inline cell card (`widget.ts`).
 * A card is built once per request and kept while pending, so typed feedback survives re-renders; the expiry
 * countdown ticks in place. Layout: what it is and what it costs (a short summary), then the buttons, so
 * Approve is visible without scrolling however long the script; then the script (line numbers, collapsible) and
 * the full action as JSON one click away. The buttons send the same typed commands everywhere: approve, deny
 * (with the feedback), approve for this session (only when the kernel offers it: `session_scope`), and edit in
 * a cell (the script goes into a new cell headed `%%intern approve NONCE`; running it approves that).
 */

import type { Command } from '../commands';
import { button, formatCountdown, formatUsd, h } from '../dom';
import type { PendingApproval } from '../reducer';

export interface ApprovalActions {
  send(command: Command): void;
}

/** A field the action does not use: shown nowhere (the hash still binds every field). */
function isEmpty(value: unknown): boolean {
  return (
    value === '' ||
    value === null ||
    value === undefined ||
    value === '{}' ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

/** The action's fields with `arguments_json` (canonical JSON of the remaining arguments) expanded in place. */
export function actionFields(approval: PendingApproval): Record<string, unknown> {
  const { script: _script, arguments_json: argsJson, ...rest } = approval.action ?? {};
  void _script;
  const fields: Record<string, unknown> = Object.fromEntries(
    Object.entries(rest).filter(([, value]) => !isEmpty(value))
  );
  if (typeof argsJson === 'string' && !isEmpty(argsJson)) {
    try {
      const parsed: unknown = JSON.parse(argsJson);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [key, value] of Object.entries(parsed)) {
          if (!isEmpty(value) && !(key in fields)) {
            fields[key] = value;
          }
        }
      } else {
        fields.arguments = parsed;
      }
    } catch {
      fields.arguments_json = argsJson; // unreadable: shown as it is, never hidden
    }
  }
  return fields;
}

/** The exact action the person approves: every field it uses, script text included, never summarised. */
export function actionText(approval: PendingApproval): string {
  const script = approval.action?.script;
  const fields = JSON.stringify(actionFields(approval), null, 2);
  return typeof script === 'string' ? `${fields}\n\n--- script ---\n${script}` : fields;
}

function formatTimeout(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    return 'none (asks every time)';
  }
  if (seconds >= 3600 && seconds % 3600 === 0) {
    return `${seconds / 3600} h`;
  }
  return seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

function summaryValue(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map(String).join(' ');
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The rows a person decides on, first the ones that say what runs where and for how long. */
export function summaryRows(approval: PendingApproval): Array<[string, string]> {
  const action = approval.action ?? {};
  const rows: Array<[string, string]> = [['tool', approval.tool || String(action.tool ?? 'action')]];
  const named: Array<[string, string]> = [
    ['operation', 'operation'],
    ['runtime', 'runtime'],
    ['hardware_flavor', 'hardware'],
    ['namespace', 'namespace'],
    ['image', 'image'],
    ['target', 'target'],
    ['command', 'command']
  ];
  for (const [key, label] of named) {
    if (!isEmpty(action[key])) {
      rows.push([label, summaryValue(action[key])]);
    }
  }
  if (approval.tool === 'hf_jobs' || !isEmpty(action.timeout_s)) {
    rows.push(['timeout', formatTimeout(action.timeout_s)]);
  }
  rows.push([
    'worst case',
    approval.cost_usd === null || approval.cost_usd === undefined
      ? 'unknown (never auto-approved)'
      : formatUsd(approval.cost_usd)
  ]);
  rows.push([
    'budget left',
    approval.budget_left_usd === null || approval.budget_left_usd === undefined
      ? 'no cap'
      : formatUsd(approval.budget_left_usd)
  ]);
  return rows;
}

/** A read-only code view with line numbers (CSS counters: copying the code does not copy the numbers). */
export function codeView(source: string, testid?: string): HTMLElement {
  const lines = source.replace(/\n$/, '').split('\n');
  return h(
    'pre',
    { className: 'mlintern-code', testid },
    ...lines.map(line => h('span', { className: 'mlintern-code-line' }, line === '' ? '\n' : `${line}\n`))
  );
}

const TESTIDS: Record<string, string> = {
  'worst case': 'mlintern-approval-cost',
  'budget left': 'mlintern-approval-budget'
};

interface Card {
  approval: PendingApproval;
  el: HTMLElement;
  countdown: HTMLElement;
  approve: HTMLButtonElement;
  forSession: HTMLButtonElement | null;
}

export class ApprovalsView {
  readonly node: HTMLElement;
  private cards = new Map<string, Card>();

  constructor(private actions: ApprovalActions) {
    this.node = h('div', {
      className: 'mlintern-approvals',
      testid: 'mlintern-approvals'
    });
  }

  update(approvals: PendingApproval[]): void {
    const keep = new Set(approvals.map(a => a.nonce));
    for (const [nonce, card] of this.cards) {
      if (!keep.has(nonce)) {
        card.el.remove();
        this.cards.delete(nonce);
      }
    }
    for (const approval of approvals) {
      if (!this.cards.has(approval.nonce)) {
        const card = this.build(approval);
        this.cards.set(approval.nonce, card);
        this.node.appendChild(card.el);
      }
    }
    this.node.hidden = approvals.length === 0;
    this.tick(Date.now());
  }

  /** Refresh countdowns; an expired request can no longer be approved (the kernel would refuse it anyway). */
  tick(now: number): void {
    for (const card of this.cards.values()) {
      const text = formatCountdown(card.approval.expires_at, now);
      card.countdown.textContent = text;
      if (text === 'expired') {
        card.approve.disabled = true;
        if (card.forSession) {
          card.forSession.disabled = true;
        }
        card.el.classList.add('mlintern-expired');
      }
    }
  }

  private build(approval: PendingApproval): Card {
    const feedback = h('textarea', {
      className: 'mlintern-feedback-input',
      testid: 'mlintern-feedback',
      attrs: { rows: '1', placeholder: 'Feedback for the agent (optional)' }
    });
    const countdown = h('span', {
      className: 'mlintern-countdown',
      testid: 'mlintern-expiry'
    });
    const nonce = approval.nonce;
    const decide = (command: Command) => {
      for (const b of [approve, deny, forSession]) {
        if (b) {
          b.disabled = true;
        }
      }
      el.classList.add('mlintern-decided');
      this.actions.send(command);
    };
    const approve = button(
      'Approve',
      'mlintern-approve',
      () => decide({ type: 'approve', nonce, feedback: feedback.value }),
      'mlintern-accept'
    );
    const deny = button(
      'Deny',
      'mlintern-deny',
      () => decide({ type: 'deny', nonce, feedback: feedback.value }),
      'mlintern-danger'
    );
    const scope = approval.session_scope;
    const forSession = scope
      ? button(
          `Approve \`${scope}\` for this session`,
          'mlintern-approve-session',
          () => decide({ type: 'approve_for_session', nonce }),
          'mlintern-wrap'
        )
      : null;
    const script = approval.action?.script;
    const edit =
      typeof script === 'string'
        ? button('Edit in a cell', 'mlintern-edit-in-cell', () => {
            edit!.disabled = true;
            this.actions.send({ type: 'edit_in_cell', nonce });
          })
        : null;
    const hash = approval.action_sha256 ?? '';
    const rows = summaryRows(approval);
    const el = h(
      'div',
      {
        className: 'mlintern-card mlintern-approval',
        testid: 'mlintern-approval-card',
        attrs: { 'data-call-id': approval.call_id }
      },
      h(
        'div',
        { className: 'mlintern-card-head' },
        h('span', { className: 'mlintern-tool-name' }, `Approve ${approval.tool || 'action'}?`),
        h('span', { className: 'mlintern-muted' }, 'expires in ', countdown)
      ),
      approval.reason ? h('div', { className: 'mlintern-muted' }, approval.reason) : null,
      approval.checks?.length
        ? h(
            'ul',
            { className: 'mlintern-checks', testid: 'mlintern-approval-checks' },
            ...approval.checks.map(check => h('li', {}, `warning: ${check}`))
          )
        : null,
      h(
        'dl',
        { className: 'mlintern-summary', testid: 'mlintern-approval-summary' },
        ...rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', { testid: TESTIDS[label] }, value)])
      ),
      h('div', { className: 'mlintern-buttons' }, approve, deny, forSession, edit),
      feedback,
      typeof script === 'string'
        ? h(
            'details',
            { className: 'mlintern-script', testid: 'mlintern-approval-script', attrs: { open: '' } },
            h('summary', {}, `script · ${script.replace(/\n$/, '').split('\n').length} lines`),
            codeView(script)
          )
        : null,
      h(
        'details',
        { className: 'mlintern-action-json' },
        h(
          'summary',
          {},
          'full action (JSON) · ',
          h('span', { testid: 'mlintern-approval-hash', title: hash }, `sha256 ${hash.slice(0, 12)}`)
        ),
        h(
          'pre',
          { className: 'mlintern-pre mlintern-action', testid: 'mlintern-action-text' },
          actionText(approval)
        )
      )
    );
    return { approval, el, countdown, approve, forSession };
  }
}
