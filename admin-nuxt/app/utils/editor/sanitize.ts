// Rich text for the live preview: the subset Kassa keeps when it saves a draft (p, br, strong,
// em, u, s, a with http/https/mailto, ul, ol, li, h2–h4, blockquote, code); everything else is
// unwrapped (script and style dropped with their content), every attribute but a link's href
// removed. The storefront API only ever answers text Kassa made safe; this covers what the
// editor has typed but not saved yet.
const ALLOWED = new Set(['P', 'BR', 'STRONG', 'EM', 'U', 'S', 'A', 'UL', 'OL', 'LI', 'H2', 'H3', 'H4', 'BLOCKQUOTE', 'CODE']);
const DROPPED = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH', 'NOSCRIPT']);

export function safeHtml(html: string, doc: Document = document): string {
  const template = doc.createElement('template');
  template.innerHTML = html;
  clean(template.content);
  return template.innerHTML;
}

function clean(parent: ParentNode): void {
  for (const node of [...parent.childNodes]) {
    if (node.nodeType === 8) {
      node.parentNode?.removeChild(node); // comments
      continue;
    }
    if (node.nodeType !== 1) continue;
    const element = node as Element;
    const tag = element.tagName.toUpperCase();
    if (DROPPED.has(tag)) {
      element.remove();
      continue;
    }
    clean(element);
    if (!ALLOWED.has(tag)) {
      element.replaceWith(...element.childNodes);
      continue;
    }
    for (const attribute of [...element.attributes]) {
      const keep = tag === 'A' && attribute.name === 'href' && /^(https?:|mailto:)/i.test(attribute.value.trim());
      if (!keep) element.removeAttribute(attribute.name);
    }
    if (tag === 'A') element.setAttribute('rel', 'noopener noreferrer nofollow');
  }
}
