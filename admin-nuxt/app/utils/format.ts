/** A timestamp for people: date and time in the browser's locale. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** The text of a translatable field in `locale`, else the first one there is. */
export function translated(text: Record<string, string> | null | undefined, locale?: string): string {
  if (!text) return '';
  return (locale && text[locale]) || Object.values(text)[0] || '';
}

/** snake_case → "Snake case". */
export function humanize(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
