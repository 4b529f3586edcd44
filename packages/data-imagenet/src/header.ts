/** Image dimensions from the first bytes of a JPEG or PNG, without a decoder round trip. */

export interface HeaderInfo {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
}

/** Reads width and height of a JPEG (first SOFn marker) or PNG (IHDR); null for anything else or a damaged header. */
export function readHeader(buf: Uint8Array): HeaderInfo | null {
  if (buf.length >= 24 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const width = dv.getUint32(16);
    const height = dv.getUint32(20);
    return width > 0 && height > 0 ? { format: 'png', width, height } : null;
  }
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let pos = 2;
  const n = buf.length;
  while (pos < n) {
    if (buf[pos] !== 0xff) return null;
    while (pos < n && buf[pos] === 0xff) pos++; // fill bytes
    if (pos >= n) return null;
    const marker = buf[pos];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos++;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // EOI or scan data before any frame header
    if (pos + 2 >= n) return null;
    const len = (buf[pos + 1] << 8) | buf[pos + 2];
    if (len < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 7 >= n) return null;
      const height = (buf[pos + 4] << 8) | buf[pos + 5];
      const width = (buf[pos + 6] << 8) | buf[pos + 7];
      return width > 0 && height > 0 ? { format: 'jpeg', width, height } : null;
    }
    pos += 1 + len;
  }
  return null;
}
