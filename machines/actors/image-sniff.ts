/**
 * What a received photo really is, read from its own bytes: the type from its signature and
 * the size its header declares. A sender's announced type and name are never trusted, and the
 * declared size is checked against the pixel cap before a decoder is allowed to allocate it.
 * Pure (no DOM), so Node tests feed it hostile bytes.
 */

export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp';

export interface ImageHeader {
	type: ImageType;
	width: number;
	height: number;
}

const ascii = (b: Uint8Array, at: number, text: string) =>
	b.length >= at + text.length && [...text].every((ch, i) => b[at + i] === ch.charCodeAt(0));

const u16be = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u32be = (b: Uint8Array, at: number) => ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u24le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);

function png(b: Uint8Array): ImageHeader | null {
	// Signature, then the first chunk must be IHDR (length 13): width and height, big-endian.
	if (b.length < 24 || !ascii(b, 1, 'PNG\r\n\u001a\n') || b[0] !== 0x89 || !ascii(b, 12, 'IHDR')) return null;
	return { type: 'image/png', width: u32be(b, 16), height: u32be(b, 20) };
}

/** Start-of-frame markers carry the frame's size; C4 (DHT), C8 (JPG) and CC (DAC) do not. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpeg(b: Uint8Array): ImageHeader | null {
	if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) return null;
	let at = 2;
	while (at + 4 <= b.length) {
		if (b[at] !== 0xff) return null;
		const marker = b[at + 1];
		if (marker === 0xff) {
			at += 1; // fill byte
			continue;
		}
		if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan before any frame
		if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
			at += 2; // markers without a length
			continue;
		}
		const length = u16be(b, at + 2);
		if (length < 2) return null;
		if (isSof(marker)) {
			if (at + 9 > b.length) return null;
			return { type: 'image/jpeg', height: u16be(b, at + 5), width: u16be(b, at + 7) };
		}
		at += 2 + length;
	}
	return null;
}

function webp(b: Uint8Array): ImageHeader | null {
	if (b.length < 30 || !ascii(b, 0, 'RIFF') || !ascii(b, 8, 'WEBP')) return null;
	if (ascii(b, 12, 'VP8 ')) {
		// Lossy: a key frame's start code, then 14-bit width and height.
		if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
		return { type: 'image/webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
	}
	if (ascii(b, 12, 'VP8L')) {
		if (b[20] !== 0x2f) return null;
		const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
		return { type: 'image/webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
	}
	if (ascii(b, 12, 'VP8X')) return { type: 'image/webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
	return null;
}

/** The image's type and declared size, or null when the bytes are none of JPEG, PNG, WebP. */
export function sniffImage(bytes: Uint8Array): ImageHeader | null {
	return png(bytes) ?? jpeg(bytes) ?? webp(bytes);
}

/** The file extension for an image type (sniffImage's); anything else is taken as JPEG. */
export function extensionOf(type: string): string {
	return type === 'image/png' ? 'png' : type === 'image/webp' ? 'webp' : 'jpg';
}
