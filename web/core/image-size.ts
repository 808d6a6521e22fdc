/**
 * Width and height of a PNG, GIF, JPEG or WebP read from its first bytes, so the
 * message list can lay an image out before it is fetched. Pure and cheap: headers
 * only, never a decode; anything it does not recognise gives undefined.
 *
 * PNG: IHDR (ISO/IEC 15948 §11.2.2); GIF: logical screen descriptor (GIF89a §18);
 * JPEG: the first SOFn segment (ITU T.81 §B.2.2); WebP: VP8X, VP8 or VP8L (RFC 9649).
 */

export interface ImageSize {
  width: number;
  height: number;
}

/** Bytes of a JPEG searched for its frame header (EXIF thumbnails come first). */
const JPEG_SCAN = 1 << 20;

export function imageSize(bytes: Uint8Array, mime: string): ImageSize | undefined {
  const size = read(bytes, mime);
  return size && size.width > 0 && size.height > 0 && size.width <= 65_535 && size.height <= 65_535
    ? size
    : undefined;
}

function read(b: Uint8Array, mime: string): ImageSize | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ascii = (at: number, text: string) =>
    b.length >= at + text.length && [...text].every((c, i) => b[at + i] === c.charCodeAt(0));
  switch (mime) {
    case 'image/png':
      if (b.length < 24 || b[0] !== 0x89 || !ascii(1, 'PNG') || !ascii(12, 'IHDR')) return undefined;
      return { width: view.getUint32(16), height: view.getUint32(20) };
    case 'image/gif':
      if (b.length < 10 || !ascii(0, 'GIF8')) return undefined;
      return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
    case 'image/jpeg':
      return jpeg(b, view);
    case 'image/webp':
      if (b.length < 30 || !ascii(0, 'RIFF') || !ascii(8, 'WEBP')) return undefined;
      if (ascii(12, 'VP8X'))
        return {
          width: 1 + (view.getUint32(24, true) & 0xffffff),
          height: 1 + (view.getUint32(26, true) >>> 8),
        };
      if (ascii(12, 'VP8 '))
        return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
      if (ascii(12, 'VP8L') && b[20] === 0x2f) {
        const bits = view.getUint32(21, true);
        return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
      }
      return undefined;
    default:
      return undefined;
  }
}

function jpeg(b: Uint8Array, view: DataView): ImageSize | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  const end = Math.min(b.length, JPEG_SCAN);
  let at = 2;
  while (at + 9 <= end) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // no length
      continue;
    }
    // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or start of scan: no frame header before
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}
