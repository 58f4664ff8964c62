/** One DOM card per timeline item. Model and tool text goes through textContent or the sanitizing renderer. */

import type { Command } from '../commands';
import { button, formatUsd, h } from '../dom';
import { isJobTerminal } from '../events';
import { isSafeUrl, renderMarkdown } from '../markdown';
import type { AssistantItem, JobItem, NoticeItem, TimelineItem, ToolItem, UserItem } from '../reducer';

export interface CardActions {
  send(command: Command): void;
}

export function isJobFinished(status: string): boolean {
  return isJobTerminal(status);
}

const SVG = 'http://www.w3.org/2000/svg';

/** A sparkline built from numbers only (DOM nodes, no markup from the log can get in). */
function sparkline(values: number[], width = 160, height = 40): Element | null {
  if (values.length < 2) {
    return null;
  }
  const low = Math.min(...values);
  const span = Math.max(...values) - low || 1;
  const step = width / (values.length - 1);
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - ((v - low) / span) * height).toFixed(1)}`)
    .join(' ');
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('points', points);
  svg.appendChild(line);
  return svg;
}

function metricsPlot(metrics: Record<string, number[]>): HTMLElement | null {
  const shown = Object.entries(metrics)
    .filter(([name, values]) => !['step', 'epoch'].includes(name) && values.length >= 2)
    .slice(0, 3);
  if (shown.length === 0) {
    return null;
  }
  return h(
    'div',
    { className: 'mlintern-metrics', testid: 'mlintern-job-metrics' },
    ...shown.map(([name, values]) =>
      h(
        'div',
        { className: 'mlintern-metric' },
        h('span', { className: 'mlintern-muted' }, `${name}: ${values[values.length - 1].toPrecision(4)}`),
        sparkline(values)
      )
    )
  );
}

function pre(text: string, className: string, testid?: string): HTMLElement {
  return h('pre', { className: `mlintern-pre ${className}`, testid }, text);
}

function argumentsText(args: ToolItem['arguments']): string {
  if (typeof args === 'string') {
    return args;
  }
  return JSON.stringify(args, null, 2);
}

function userCard(item: UserItem): HTMLElement {
  return h(
    'div',
    { className: 'mlintern-card mlintern-user', testid: 'mlintern-user-text' },
    h('div', { className: 'mlintern-card-label' }, item.queued ? 'You (queued)' : 'You'),
    h('div', { className: 'mlintern-user-body' }, item.text)
  );
}

function assistantCard(item: AssistantItem): HTMLElement {
  const body = h('div', {
    className: 'mlintern-markdown',
    testid: 'mlintern-assistant-text'
  });
  renderMarkdown(body, item.text);
  return h(
    'div',
    {
      className: `mlintern-card mlintern-assistant${item.streaming ? ' mlintern-streaming' : ''}`
    },
    body
  );
}

const STEP_MARKS: Record<string, string> = {
  started: '●',
  tool_call: '▸',
  tool_result: '✓',
  notice: '!',
  ended: '■'
};

/** A sub-agent's steps as one collapsible list inside its call's card (text only, never markup). */
function stepsList(item: ToolItem): HTMLElement | null {
  if (item.stepCount === 0) {
    return null;
  }
  const calls = item.steps.filter(s => s.step === 'tool_call').length;
  const hidden = item.stepCount - item.steps.length;
  return h(
    'details',
    { className: 'mlintern-subagent', testid: 'mlintern-subagent-steps' },
    h('summary', {}, `${item.tool || 'sub-agent'}: ${calls} tool calls, ${item.stepCount} steps`),
    h(
      'ul',
      { className: 'mlintern-subagent-list' },
      hidden > 0 ? h('li', { className: 'mlintern-muted' }, `… ${hidden} earlier steps`) : null,
      ...item.steps.map(s =>
        h(
          'li',
          { className: s.ok ? 'mlintern-step' : 'mlintern-step mlintern-step-failed' },
          `${STEP_MARKS[s.step] ?? '·'} ${s.tool ? s.tool + ' ' : ''}${s.text}${s.ok ? '' : ' (failed)'}`
        )
      )
    )
  );
}

function toolCard(item: ToolItem): HTMLElement {
  const args = argumentsText(item.arguments);
  return h(
    'div',
    {
      className: `mlintern-card mlintern-tool mlintern-status-${item.status}`,
      testid: 'mlintern-tool-card',
      attrs: { 'data-call-id': item.callId }
    },
    h(
      'div',
      { className: 'mlintern-card-head' },
      h('span', { className: 'mlintern-tool-name' }, item.tool || 'tool'),
      h(
        'span',
        { className: 'mlintern-badge', testid: 'mlintern-tool-status' },
        item.status.replace(/_/g, ' ')
      ),
      item.durationS !== null
        ? h('span', { className: 'mlintern-muted' }, `${item.durationS.toFixed(1)}s`)
        : null
    ),
    args && args !== '{}'
      ? h(
          'details',
          { className: 'mlintern-args' },
          h('summary', {}, 'arguments'),
          pre(args, 'mlintern-args-text')
        )
      : null,
    item.output ? pre(item.output, 'mlintern-output', 'mlintern-tool-output') : null,
    stepsList(item),
    item.feedback ? h('div', { className: 'mlintern-feedback' }, `Feedback: ${item.feedback}`) : null,
    item.result !== null
      ? h(
          'details',
          { className: 'mlintern-result' },
          h('summary', {}, 'result'),
          pre(item.result, 'mlintern-result-text', 'mlintern-tool-result')
        )
      : null
  );
}

function jobCard(item: JobItem, actions: CardActions): HTMLElement {
  const finished = isJobFinished(item.status);
  const link =
    item.url && isSafeUrl(item.url) && /^https?:/i.test(item.url)
      ? h(
          'a',
          {
            attrs: {
              href: item.url,
              target: '_blank',
              rel: 'noopener noreferrer'
            }
          },
          'open'
        )
      : null;
  return h(
    'div',
    {
      className: `mlintern-card mlintern-job${finished ? ' mlintern-job-finished' : ''}`,
      testid: 'mlintern-job-card',
      attrs: { 'data-job-id': item.jobId }
    },
    h(
      'div',
      { className: 'mlintern-card-head' },
      h('span', { className: 'mlintern-tool-name' }, `job ${item.jobId}`),
      h('span', { className: 'mlintern-badge', testid: 'mlintern-job-status' }, item.status),
      h('span', { className: 'mlintern-muted' }, [item.runtime, item.hardware].filter(Boolean).join(' · ')),
      item.costUsd ? h('span', { className: 'mlintern-muted' }, formatUsd(item.costUsd)) : null,
      link,
      finished
        ? null
        : button(
            'Cancel',
            'mlintern-job-cancel',
            () => actions.send({ type: 'cancel_job', job_id: item.jobId }),
            'mlintern-danger'
          )
    ),
    item.message ? h('div', { className: 'mlintern-muted' }, item.message) : null,
    metricsPlot(item.metrics ?? {}),
    pre(item.log, 'mlintern-log', 'mlintern-job-log')
  );
}

function noticeCard(item: NoticeItem): HTMLElement {
  return h(
    'div',
    {
      className: `mlintern-notice mlintern-notice-${item.level}`,
      testid: 'mlintern-notice'
    },
    item.text
  );
}

export function renderCard(item: TimelineItem, actions: CardActions): HTMLElement {
  switch (item.type) {
    case 'user':
      return userCard(item);
    case 'assistant':
      return assistantCard(item);
    case 'tool':
      return toolCard(item);
    case 'job':
      return jobCard(item, actions);
    case 'notice':
      return noticeCard(item);
  }
}
