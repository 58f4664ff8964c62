import { h } from '../dom';
import type { Todo } from '../events';

const MARK: Record<string, string> = {
  completed: '☑',
  in_progress: '◐',
  pending: '☐'
};

export function renderPlan(todos: Todo[]): HTMLElement {
  return h(
    'ul',
    { className: 'mlintern-plan-list' },
    ...todos.map(todo =>
      h(
        'li',
        {
          className: `mlintern-todo mlintern-todo-${todo.status}`,
          testid: 'mlintern-todo',
          attrs: { 'data-status': String(todo.status) }
        },
        h('span', { className: 'mlintern-todo-mark' }, MARK[todo.status] ?? '☐'),
        h('span', { className: 'mlintern-todo-text' }, todo.content)
      )
    )
  );
}
