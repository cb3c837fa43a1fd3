// The messages between the page editor and its preview iframe (`/preview-frame`). The editor
// sends the draft, rendered for the editing locale, on every edit; the frame answers with what
// the pointer is over and what was clicked, and where those items are, so the editor can draw
// its outline over the frame. Both sides take a message only from the window they expect and
// only from the admin's origin, and send only to that origin (never "*").

export const CHANNEL = 'kassa-page-preview';

/** A box in the frame's viewport (CSS pixels). */
export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface PreviewSection {
  id: string;
  type: string;
  settings: Record<string, unknown>;
  blocks: { id: string; type: string; settings: Record<string, unknown>; data?: unknown }[];
  data?: unknown;
}

/** Editor → frame. */
export type ToFrame =
  | { channel: typeof CHANNEL; type: 'render'; layout: string; locale: string; sections: PreviewSection[] }
  | { channel: typeof CHANNEL; type: 'select'; id: string | null };

/** Frame → editor. */
export type FromFrame =
  | { channel: typeof CHANNEL; type: 'ready' }
  | { channel: typeof CHANNEL; type: 'hover'; id: string | null }
  | { channel: typeof CHANNEL; type: 'select'; id: string }
  | { channel: typeof CHANNEL; type: 'outline'; hover: { id: string; rect: Rect } | null; selected: { id: string; rect: Rect } | null };

/** What a message event needs to have for the checks (a `MessageEvent` has it). */
export interface MessageLike {
  origin: string;
  source: unknown;
  data: unknown;
}

/**
 * The message's data when it comes from `expectedSource` at `expectedOrigin` and is one of
 * ours (the right channel and a known type); undefined for anything else, which is ignored.
 */
export function trustedMessage<T extends { type: string }>(
  event: MessageLike,
  expectedOrigin: string,
  expectedSource: unknown,
  types: readonly T['type'][],
): T | undefined {
  if (!expectedOrigin || expectedOrigin === 'null' || event.origin !== expectedOrigin) return undefined;
  if (expectedSource == null || event.source !== expectedSource) return undefined;
  const data = event.data as { channel?: unknown; type?: unknown } | null;
  if (!data || typeof data !== 'object' || data.channel !== CHANNEL) return undefined;
  if (typeof data.type !== 'string' || !(types as readonly string[]).includes(data.type)) return undefined;
  return data as unknown as T;
}

export const FRAME_MESSAGE_TYPES = ['ready', 'hover', 'select', 'outline'] as const satisfies readonly FromFrame['type'][];
export const EDITOR_MESSAGE_TYPES = ['render', 'select'] as const satisfies readonly ToFrame['type'][];
