// jsdom has no DragEvent; @lumino/dragdrop (pulled in by @lumino/widgets) subclasses it at import time.
if (typeof globalThis.DragEvent === 'undefined') {
  globalThis.DragEvent = class DragEvent extends MouseEvent {} as unknown as typeof globalThis.DragEvent;
}
