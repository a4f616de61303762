import { describe, expect, test } from 'vitest';
import { deflateSync } from 'node:zlib';
import { extensionOf, sniffImage } from '$machines/actors/image-sniff';

const bytes = (...parts: (number[] | Uint8Array | string)[]) =>
	new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : [...p])));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const be16 = (n: number) => [(n >> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >> 8) & 255];
const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];

/** A real, complete 1-pixel-row PNG of the given size (valid IHDR, IDAT, IEND). */
function png(width: number, height: number) {
	const raw = new Uint8Array(height * (1 + width * 3));
	const chunk = (type: string, data: number[] | Uint8Array) => [...be32(data.length), ...bytes(type), ...data, 0, 0, 0, 0];
	return bytes(
		[0x89],
		'PNG\r\n\u001a\n',
		chunk('IHDR', [...be32(width), ...be32(height), 8, 2, 0, 0, 0]),
		chunk('IDAT', deflateSync(raw)),
		chunk('IEND', [])
	);
}

/** A JPEG's header: SOI, an APP1 (EXIF-like) segment, a DQT, then the frame marker. */
function jpeg(width: number, height: number, sof = 0xc0) {
	const app1 = [0xff, 0xe1, ...be16(2 + 300), ...new Array(300).fill(0x41)];
	const dqt = [0xff, 0xdb, ...be16(2 + 65), ...new Array(65).fill(1)];
	const frame = [0xff, sof, ...be16(17), 8, ...be16(height), ...be16(width), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
	return bytes([0xff, 0xd8], app1, dqt, frame, [0xff, 0xd9]);
}

describe('sniffImage: what the bytes say, never the sender', () => {
	test('PNG: type and IHDR size', () => {
		expect(sniffImage(png(640, 480))).toEqual({ type: 'image/png', width: 640, height: 480 });
		// A header that declares far more than it carries is still read as declared (the cap
		// is applied to this, before any decoder allocates).
		const liar = png(1, 1);
		liar.set(be32(100_000), 16);
		liar.set(be32(100_000), 20);
		expect(sniffImage(liar)).toEqual({ type: 'image/png', width: 100_000, height: 100_000 });
		liar.set(be32(2 ** 31 + 5), 16);
		expect(sniffImage(liar)?.width).toBe(2 ** 31 + 5); // unsigned, not negative
	});

	test('JPEG: the first frame marker after other segments, baseline or progressive', () => {
		expect(sniffImage(jpeg(4032, 3024))).toEqual({ type: 'image/jpeg', width: 4032, height: 3024 });
		expect(sniffImage(jpeg(1280, 720, 0xc2))).toEqual({ type: 'image/jpeg', width: 1280, height: 720 });
		// DHT (C4) is not a frame: skipped by its length.
		const withDht = bytes([0xff, 0xd8, 0xff, 0xc4, ...be16(4), 0, 0], jpeg(10, 20).slice(2));
		expect(sniffImage(withDht)).toEqual({ type: 'image/jpeg', width: 10, height: 20 });
	});

	test('WebP: lossy, lossless and extended headers', () => {
		const riff = (chunk: string, body: number[]) => bytes('RIFF', le16(100), [0, 0], 'WEBP', chunk, body);
		expect(sniffImage(riff('VP8 ', [0, 0, 0, 0, 0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(800), ...le16(600), 0, 0]))).toEqual({
			type: 'image/webp',
			width: 800,
			height: 600
		});
		const w = 300 - 1;
		const h = 200 - 1;
		const bits = w | (h << 14);
		expect(sniffImage(riff('VP8L', [0, 0, 0, 0, 0x2f, bits & 255, (bits >> 8) & 255, (bits >> 16) & 255, (bits >>> 24) & 255, 0, 0, 0, 0, 0]))).toEqual({
			type: 'image/webp',
			width: 300,
			height: 200
		});
		expect(sniffImage(riff('VP8X', [0, 0, 0, 0, 0, 0, 0, 0, ...le24(9999), ...le24(4999), 0, 0]))).toEqual({
			type: 'image/webp',
			width: 10000,
			height: 5000
		});
	});

	test('not an image: text, HTML named .png, truncated or broken headers → null, never a throw', () => {
		expect(sniffImage(bytes('<html><script>alert(1)</script></html>'))).toBeNull();
		expect(sniffImage(bytes('MZ\u0090\u0000 this is an exe'))).toBeNull();
		expect(sniffImage(new Uint8Array(0))).toBeNull();
		expect(sniffImage(png(10, 10).slice(0, 20))).toBeNull();
		expect(sniffImage(jpeg(10, 10).slice(0, 330))).toBeNull(); // cut before the frame
		expect(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).toBeNull(); // a zero-length segment
		expect(sniffImage(bytes([0xff, 0xd8, 0xff, 0xda, 0, 8, 1, 2, 3, 4, 5, 6]))).toBeNull(); // scan before any frame
		expect(sniffImage(bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ', new Array(20).fill(0)))).toBeNull();
		expect(sniffImage(bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ', new Array(20).fill(0)))).toBeNull(); // no key frame code
		let seed = 7;
		for (let n = 0; n < 2000; n++) {
			const junk = new Uint8Array(1 + (n % 97));
			for (let i = 0; i < junk.length; i++) junk[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
			if (n % 3 === 0) junk.set([0xff, 0xd8, 0xff].slice(0, junk.length));
			expect(() => sniffImage(junk)).not.toThrow();
		}
	});

	test('extensions follow the detected type', () => {
		expect(extensionOf('image/png')).toBe('png');
		expect(extensionOf('image/jpeg')).toBe('jpg');
		expect(extensionOf('image/webp')).toBe('webp');
	});
});
