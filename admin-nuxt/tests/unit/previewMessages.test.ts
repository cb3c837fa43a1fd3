import { describe, expect, it } from 'vitest';

import { CHANNEL, EDITOR_MESSAGE_TYPES, FRAME_MESSAGE_TYPES, trustedMessage, type FromFrame, type ToFrame } from '~/utils/editor/previewMessages';

const ADMIN = 'https://admin.kassa.example';
const frame = { name: 'the preview iframe' };
const other = { name: 'another window' };
const select = { channel: CHANNEL, type: 'select', id: 'hero' };

describe('the preview’s postMessage check', () => {
  it('takes our message from the expected window at the admin’s origin', () => {
    expect(trustedMessage<FromFrame>({ origin: ADMIN, source: frame, data: select }, ADMIN, frame, FRAME_MESSAGE_TYPES)).toEqual(select);
  });

  it('ignores a message from any other origin, even from the same window', () => {
    for (const origin of ['https://evil.example', 'http://admin.kassa.example', 'https://admin.kassa.example:8443', 'null', '']) {
      expect(trustedMessage<FromFrame>({ origin, source: frame, data: select }, ADMIN, frame, FRAME_MESSAGE_TYPES)).toBeUndefined();
    }
  });

  it('ignores a message from another window at the right origin', () => {
    expect(trustedMessage<FromFrame>({ origin: ADMIN, source: other, data: select }, ADMIN, frame, FRAME_MESSAGE_TYPES)).toBeUndefined();
    expect(trustedMessage<FromFrame>({ origin: ADMIN, source: null, data: select }, ADMIN, null, FRAME_MESSAGE_TYPES)).toBeUndefined();
  });

  it('never trusts an opaque origin, whatever it is compared with', () => {
    expect(trustedMessage<FromFrame>({ origin: 'null', source: frame, data: select }, 'null', frame, FRAME_MESSAGE_TYPES)).toBeUndefined();
  });

  it('ignores data that is not one of our messages', () => {
    for (const data of [null, 'select', { type: 'select', id: 'x' }, { channel: 'other', type: 'select' }, { channel: CHANNEL, type: 'eval' }, { channel: CHANNEL }]) {
      expect(trustedMessage<FromFrame>({ origin: ADMIN, source: frame, data }, ADMIN, frame, FRAME_MESSAGE_TYPES)).toBeUndefined();
    }
  });

  it('lets each side take only the other side’s message types', () => {
    const render = { channel: CHANNEL, type: 'render', layout: 'default', locale: 'en', sections: [] };
    expect(trustedMessage<ToFrame>({ origin: ADMIN, source: frame, data: render }, ADMIN, frame, EDITOR_MESSAGE_TYPES)).toEqual(render);
    expect(trustedMessage<FromFrame>({ origin: ADMIN, source: frame, data: render }, ADMIN, frame, FRAME_MESSAGE_TYPES)).toBeUndefined();
    const outline = { channel: CHANNEL, type: 'outline', hover: null, selected: null };
    expect(trustedMessage<ToFrame>({ origin: ADMIN, source: frame, data: outline }, ADMIN, frame, EDITOR_MESSAGE_TYPES)).toBeUndefined();
  });
});
