/**
 * Scan to call (issue 16): the scan machine with a fake reader (what a camera would decode is
 * sent in by the test), and the detector choice (native BarcodeDetector or the `qr` package's)
 * with the real package decoding a QR code drawn by the `qrcode` package.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, waitFor, type AnyEventObject } from 'xstate';
import QRCode from 'qrcode';
import { scanMachine } from '$machines/scan.machine';
import { nativeDetector, qrDetector } from '$machines/actors/scan';
import { videoStream } from './fakes';

/** The scan machine over a reader the test speaks for; records the streams it was given. */
function start(stream: MediaStream | null = videoStream('back')) {
	const readers: { stream: MediaStream | null; stopped: boolean; say(e: AnyEventObject): void }[] = [];
	const machine = scanMachine.provide({
		actors: {
			readCodes: fromCallback<{ type: string }, { stream: MediaStream | null }>(({ input, sendBack }) => {
				const reader = { stream: input.stream, stopped: false, say: sendBack };
				readers.push(reader);
				return () => (reader.stopped = true);
			})
		}
	});
	const actor = createActor(machine, { input: { stream } }).start();
	const reader = () => readers.at(-1)!;
	return { actor, readers, reader, ctx: () => actor.getSnapshot().context };
}

describe('scan machine', () => {
	test('a share link fills in its ID: found, the reader stopped, the output is the ID', () => {
		const { actor, reader, readers } = start();
		expect(actor.getSnapshot().value).toBe('scanning');
		reader().say({ type: 'scan.decoded', text: 'https://camcall.example/?call=brave-otter-1234' });
		expect(actor.getSnapshot().value).toBe('found');
		expect(actor.getSnapshot().status).toBe('done');
		expect(actor.getSnapshot().output).toEqual({ id: 'brave-otter-1234' });
		expect(readers.every((r) => r.stopped)).toBe(true);
	});

	test('a bare ID is an ID', () => {
		const { actor, reader } = start();
		reader().say({ type: 'scan.decoded', text: '  calm-heron-42 \n' });
		expect(actor.getSnapshot().output).toEqual({ id: 'calm-heron-42' });
	});

	test.each([
		['another site', 'https://example.org/menu', 'invalid'],
		['a link whose call is no ID', 'https://example.org/?call=%3Cscript%3E', 'invalid'],
		['Wi-Fi credentials', 'WIFI:T:WPA;S:home;P:secret;;', 'invalid'],
		['markup', '<img src=x onerror=alert(1)>', 'invalid'],
		['an ID too long', 'a'.repeat(65), 'tooLong'],
		['blank', '   ', 'empty']
	] as const)('%s is refused with its reason, the field is not filled, scanning goes on', (_, text, reason) => {
		const { actor, reader, readers } = start();
		reader().say({ type: 'scan.decoded', text });
		expect(actor.getSnapshot().value).toBe('scanning');
		expect(actor.getSnapshot().context.id).toBeNull();
		expect(actor.getSnapshot().context.rejected).toEqual({ text: text.trim(), reason });
		expect(readers).toHaveLength(1);
		expect(reader().stopped).toBe(false);
		// Then the right code: found, and the refusal is gone.
		reader().say({ type: 'scan.decoded', text: 'calm-heron-42' });
		expect(actor.getSnapshot().output).toEqual({ id: 'calm-heron-42' });
		expect(actor.getSnapshot().context.rejected).toBeNull();
	});

	test('a refused text is shown shortened', () => {
		const { reader, ctx } = start();
		reader().say({ type: 'scan.decoded', text: `https://example.org/${'x'.repeat(200)}` });
		expect(ctx().rejected!.text).toHaveLength(80);
		expect(ctx().rejected!.text.endsWith('…')).toBe(true);
		// Exactly as long as shown: whole.
		const whole = `https://example.org/${'y'.repeat(60)}`;
		reader().say({ type: 'scan.decoded', text: whole });
		expect(ctx().rejected!.text).toBe(whole);
	});

	test('no camera yet: opening until a stream comes; a new stream (flip) restarts the reader on it', () => {
		const { actor, readers, reader } = start(null);
		expect(actor.getSnapshot().value).toBe('opening');
		expect(readers).toHaveLength(0);
		const front = videoStream('front');
		actor.send({ type: 'scan.stream', stream: front });
		expect(actor.getSnapshot().value).toBe('scanning');
		expect(reader().stream).toBe(front);
		const back = videoStream('back');
		actor.send({ type: 'scan.stream', stream: back });
		expect(readers).toHaveLength(2);
		expect(readers[0].stopped).toBe(true);
		expect(reader().stream).toBe(back);
		actor.send({ type: 'scan.stream', stream: null });
		expect(actor.getSnapshot().value).toBe('opening');
		expect(reader().stopped).toBe(true);
	});

	test('no decoder: failed with its reason; retry reads again', () => {
		const { actor, reader, readers } = start();
		reader().say({ type: 'scan.unavailable' });
		expect(actor.getSnapshot().value).toBe('failed');
		expect(actor.getSnapshot().context.failure).toBe('unavailable');
		actor.send({ type: 'scan.retry' });
		expect(actor.getSnapshot().value).toBe('scanning');
		expect(actor.getSnapshot().context.failure).toBeNull();
		expect(readers).toHaveLength(2);
	});

	test('a camera change while failed is the one read on retry', () => {
		const { actor, reader } = start();
		reader().say({ type: 'scan.unavailable' });
		const back = videoStream('back');
		actor.send({ type: 'scan.stream', stream: back });
		expect(actor.getSnapshot().value).toBe('failed');
		actor.send({ type: 'scan.retry' });
		expect(reader().stream).toBe(back);
	});

	test('cancel from any state: done with no output, the reader stopped, later codes ignored', () => {
		for (const setupTo of ['opening', 'scanning', 'failed'] as const) {
			const { actor, readers } = start(setupTo === 'opening' ? null : videoStream());
			if (setupTo === 'failed') readers[0].say({ type: 'scan.unavailable' });
			expect(actor.getSnapshot().value).toBe(setupTo);
			actor.send({ type: 'scan.cancel' });
			expect(actor.getSnapshot().value).toBe('cancelled');
			expect(actor.getSnapshot().output).toBeNull();
			expect(readers.every((r) => r.stopped)).toBe(true);
		}
	});
});

describe('QR detector choice', () => {
	afterEach(() => vi.unstubAllGlobals());

	class NativeQr {
		static formats = ['qr_code', 'ean_13'];
		static async getSupportedFormats() {
			return NativeQr.formats;
		}
		constructor(readonly options: { formats: string[] }) {}
		async detect() {
			return [];
		}
	}

	test('the native BarcodeDetector where it reads QR codes; the package is not even loaded', async () => {
		vi.stubGlobal('BarcodeDetector', NativeQr);
		const load = vi.fn(async () => ({ BarcodeDetector: class {} }));
		const detector = await qrDetector(load);
		expect(detector).toBeInstanceOf(NativeQr);
		expect((detector as unknown as NativeQr).options).toEqual({ formats: ['qr_code'] });
		expect(load).not.toHaveBeenCalled();
	});

	test('a native detector without qr_code, or none at all: the package', async () => {
		class BarcodesOnly extends NativeQr {
			static async getSupportedFormats() {
				return ['ean_13'];
			}
		}
		vi.stubGlobal('BarcodeDetector', BarcodesOnly);
		expect(await nativeDetector()).toBeNull();
		vi.stubGlobal('BarcodeDetector', undefined);
		expect(await nativeDetector()).toBeNull();
		const { BarcodeDetector } = await import('qr/decode.js');
		expect(await qrDetector()).toBeInstanceOf(BarcodeDetector);
	});

	test('the package cannot load (offline before it was cached): rejects, so the reader says unavailable', async () => {
		await expect(qrDetector(() => Promise.reject(new TypeError('Failed to fetch dynamically imported module')))).rejects.toThrow();
	});

	test('the package reads a share link from a camera-like frame (RGBA, the code in the middle)', async () => {
		const { decodeQR } = await import('qr/decode.js');
		const link = 'http://127.0.0.1:8080/?call=brave-otter-1234';
		const qr = QRCode.create(link, { errorCorrectionLevel: 'M' });
		const width = 320;
		const height = 240;
		const scale = Math.floor(200 / (qr.modules.size + 8));
		const left = Math.floor((width - qr.modules.size * scale) / 2);
		const top = Math.floor((height - qr.modules.size * scale) / 2);
		const data = new Uint8ClampedArray(width * height * 4).fill(255);
		for (let y = 0; y < height; y++) {
			for (let x = 0; x < width; x++) {
				const mx = Math.floor((x - left) / scale);
				const my = Math.floor((y - top) / scale);
				const dark = mx >= 0 && my >= 0 && mx < qr.modules.size && my < qr.modules.size && qr.modules.get(my, mx);
				if (dark) data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
			}
		}
		expect(decodeQR({ width, height, data })).toBe(link);
	});
});
