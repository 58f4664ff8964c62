/**
 * Markdown for model-written text: raw HTML is never interpreted, nothing remote is loaded, and the output
 * is sanitized.
 *
 * Two layers, because either alone has failed somewhere before: marked renders HTML tokens as escaped
 * text (so `<img onerror>` shows up literally) and images as visible links (an image the panel fetched by
 * itself could carry data out in its URL with zero clicks), then DOMPurify strips anything still dangerous,
 * including `javascript:` and `data:` URLs that markdown link syntax can produce, and every element that
 * loads a resource by itself.
 */

import DOMPurify from 'dompurify';
import { Marked, type Token, type Tokens } from 'marked';

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
    },
    image({ href, text }: Tokens.Image): string {
      const label = `[image: ${escapeHtml(text || 'untitled')}]`;
      return `<a href="${escapeHtml(href)}" class="mlintern-image-link">${label}</a>`;
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
    'math',
    // Elements that fetch a resource as soon as they render.
    'img',
    'picture',
    'source',
    'video',
    'audio',
    'track',
    'image',
    'link',
    'meta',
    'base'
  ],
  FORBID_ATTR: ['style', 'srcset', 'formaction', 'src', 'poster', 'background', 'ping', 'srcdoc'],
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

const lexer = new Marked({ gfm: true });

function risky(tokens: Token[] | undefined): boolean {
  for (const token of tokens ?? []) {
    if (token.type === 'html' || token.type === 'image') {
      return true;
    }
    const nested = token as { tokens?: Token[]; items?: Token[]; header?: unknown; rows?: unknown };
    if (risky(nested.tokens) || risky(nested.items)) {
      return true;
    }
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      const cells = [...table.header, ...table.rows.flat()];
      if (cells.some(cell => risky(cell.tokens))) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Markdown source for a notebook cell that JupyterLab will render with its own renderer (which keeps `<img>`):
 * blocks holding raw HTML or images get `<` as `&lt;` and `![` as `!\[` (text and visible links), decided by
 * marked's own lexer, the parser JupyterLab renders with. The kernel already did this with a CommonMark parse;
 * this is the second layer. Unchanged when there is nothing to neutralise; a literal code block as a last resort.
 */
export function inertMarkdown(source: string): string {
  let text = source;
  for (let round = 0; round < 3; round++) {
    const tokens = lexer.lexer(text);
    if (!tokens.some(token => token.type !== 'code' && risky([token]))) {
      return text;
    }
    text = tokens
      .map(token =>
        token.type !== 'code' && risky([token])
          ? token.raw.replace(/</g, '&lt;').replace(/!\[/g, '!\\[')
          : token.raw
      )
      .join('');
  }
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), m => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}
