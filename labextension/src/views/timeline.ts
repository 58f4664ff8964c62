/**
 * Keyed timeline: a card is rebuilt only when its item changed (the reducer keeps identity otherwise),
 * so streaming one job's log does not redraw the whole history.
 */

import type { TimelineItem } from '../reducer';
import { renderCard, type CardActions } from './cards';

interface Entry {
  item: TimelineItem;
  el: HTMLElement;
}

export class TimelineView {
  readonly node: HTMLElement;
  private entries = new Map<string, Entry>();

  constructor(private actions: CardActions) {
    this.node = document.createElement('div');
    this.node.className = 'mlintern-timeline';
    this.node.dataset.testid = 'mlintern-timeline';
  }

  update(items: TimelineItem[]): void {
    const stick = this.isNearBottom();
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const item of items) {
      seen.add(item.key);
      let entry = this.entries.get(item.key);
      if (!entry || entry.item !== item) {
        const el = renderCard(item, this.actions);
        el.dataset.key = item.key;
        if (entry) {
          entry.el.replaceWith(el);
        }
        entry = { item, el };
        this.entries.set(item.key, entry);
      }
      const expected: Element | null = previous ? previous.nextElementSibling : this.node.firstElementChild;
      if (expected !== entry.el) {
        this.node.insertBefore(entry.el, expected);
      }
      previous = entry.el;
    }
    for (const [key, entry] of this.entries) {
      if (!seen.has(key)) {
        entry.el.remove();
        this.entries.delete(key);
      }
    }
    for (const log of Array.from(this.node.querySelectorAll<HTMLElement>('.mlintern-log'))) {
      log.scrollTop = log.scrollHeight;
    }
    if (stick) {
      this.node.scrollTop = this.node.scrollHeight;
    }
  }

  private isNearBottom(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.node;
    return scrollHeight - scrollTop - clientHeight < 40;
  }
}
