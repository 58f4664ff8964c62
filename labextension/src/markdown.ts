/**
 * Markdown for model-written text: raw HTML is never interpreted and the output is sanitized.
 *
 * Two layers, because either alone has failed somewhere before: marked renders HTML tokens as escaped
 * text (so `<img onerror>` shows up literally), then DOMPurify strips anything still dangerous, including
 * `javascript:` and `data:` URLs that markdown link syntax can produce.
 */

import DOMPurify from 'dompurify';
import { Marked, type Tokens } from 'marked';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ESCAPES[c]);
}

const SAFE_URL = /^(?:https?:|mailto:|#|\/(?!\/)|\.{1,2}\/|[^:/?#]+(?:[/?#]|$))/i;

/** Only http(s), mailto, in-page and relative URLs; anything else (javascript:, data:, vbscript:) is dropped. */
export function isSafeUrl(href: string): boolean {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
  // eslint-disable-next-line no-control-regex
  const cleaned = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  return SAFE_URL.test(cleaned);
}

const marked = new Marked({
  async: false,
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    }
  }
});

let hooksInstalled = false;

function purifier(): typeof DOMPurify {
  if (!hooksInstalled) {
    DOMPurify.addHook('afterSanitizeAttributes', node => {
      const el = node as Element;
      for (const attr of ['href', 'src', 'xlink:href', 'action', 'formaction']) {
        const value = el.getAttribute?.(attr);
        if (value !== null && value !== undefined && !isSafeUrl(value)) {
          el.removeAttribute(attr);
        }
      }
      if (el.tagName === 'A' && el.hasAttribute('href')) {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooksInstalled = true;
  }
  return DOMPurify;
}

const SANITIZE = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'iframe',
    'object',
    'embed',
    'svg',
    'math'
  ],
  FORBID_ATTR: ['style', 'srcset', 'formaction'],
  ALLOW_DATA_ATTR: false
};

function parse(markdown: string): string {
  return marked.parse(markdown, { async: false }) as string;
}

/** Markdown to a sanitized HTML string. */
export function renderMarkdownToHtml(markdown: string): string {
  return purifier().sanitize(parse(markdown), SANITIZE);
}

/** Replace `host`'s children with the rendered markdown (a sanitized DOM fragment, never innerHTML). */
export function renderMarkdown(host: HTMLElement, markdown: string): void {
  const fragment = purifier().sanitize(parse(markdown), {
    ...SANITIZE,
    RETURN_DOM_FRAGMENT: true
  });
  host.replaceChildren(fragment);
}
