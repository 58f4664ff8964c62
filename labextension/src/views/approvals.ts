/**
 * Pending approvals. A card is built once per request and kept while pending, so typed feedback survives
 * re-renders; the expiry countdown ticks in place. Its buttons send the same typed commands as the inline card:
 * approve, deny (with the feedback), approve for this session (when the kernel offers it: `session_scope`), and
 * edit in a cell (the script goes into a new cell headed `%%intern approve NONCE`; running it approves that).
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
    (Array.isArray(value) && value.length === 0)
  );
}

/** The exact action the person approves: every field it uses, script text included, never summarised. */
export function actionText(approval: PendingApproval): string {
  const { script, ...rest } = approval.action ?? {};
  const used = Object.fromEntries(Object.entries(rest).filter(([, value]) => !isEmpty(value)));
  const fields = JSON.stringify(used, null, 2);
  return typeof script === 'string' ? `${fields}\n\n--- script ---\n${script}` : fields;
}

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
      attrs: { rows: '2', placeholder: 'Feedback for the agent (optional)' }
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
      ? button(`Approve \`${scope}\` for this session`, 'mlintern-approve-session', () =>
          decide({ type: 'approve_for_session', nonce })
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
        h('span', { className: 'mlintern-tool-name' }, `Approve ${approval.tool || 'action'}?`)
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
        'pre',
        {
          className: 'mlintern-pre mlintern-action',
          testid: 'mlintern-action-text'
        },
        actionText(approval)
      ),
      h(
        'div',
        { className: 'mlintern-stats' },
        h('span', { testid: 'mlintern-approval-hash', title: hash }, `sha256 ${hash.slice(0, 12)}`),
        h('span', { testid: 'mlintern-approval-cost' }, `worst case ${formatUsd(approval.cost_usd)}`),
        h(
          'span',
          { testid: 'mlintern-approval-budget' },
          `budget left ${formatUsd(approval.budget_left_usd)}`
        ),
        h('span', {}, 'expires in ', countdown)
      ),
      feedback,
      h('div', { className: 'mlintern-buttons' }, approve, deny, forSession, edit)
    );
    return { approval, el, countdown, approve, forSession };
  }
}
