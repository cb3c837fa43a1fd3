// Variant attributes as one line of text: "color=blue, size=M, weight=1.5".
// Values that read as numbers or booleans become those; everything else stays text.

export function formatAttributes(attributes: Record<string, unknown> | null | undefined): string {
  return Object.entries(attributes ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

export function parseAttributes(text: string): { ok: true; value: Record<string, string | number | boolean> } | { ok: false; error: string } {
  const value: Record<string, string | number | boolean> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, error: `“${part}” is not name=value.` };
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!raw) return { ok: false, error: `“${name}” has no value.` };
    if (raw === 'true' || raw === 'false') value[name] = raw === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(raw) && Math.abs(Number(raw)) <= 1e15) value[name] = Number(raw);
    else value[name] = raw;
  }
  return { ok: true, value };
}
