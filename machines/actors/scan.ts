/**
 * Reading QR codes from the live camera: the browser's own `BarcodeDetector` where it reads QR
 * codes (Android Chrome, macOS Safari), else the `qr` package's QR-only BarcodeDetector with the
 * same API (pure JavaScript, ~15 KB brotli), imported only here, when a scanner opens.
 */
import { fromCallback } from 'xstate';

/** What the scanner needs of a BarcodeDetector, native or not. */
export interface QrDetector {
	detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}

interface DetectorClass {
	new (options: { formats: string[] }): QrDetector;
	getSupportedFormats?(): Promise<readonly string[]>;
}

/** The native detector when it reads QR codes; null otherwise (missing, or other formats only). */
export async function nativeDetector(): Promise<QrDetector | null> {
	const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
	if (typeof Native !== 'function') return null;
	try {
		const formats = (await Native.getSupportedFormats?.()) ?? [];
		return formats.includes('qr_code') ? new Native({ formats: ['qr_code'] }) : null;
	} catch {
		return null;
	}
}

/** The native detector, else the package's; rejects when neither can be had (the package's
 * code could not load: offline before it was cached). */
export async function qrDetector(load: () => Promise<{ BarcodeDetector: unknown }> = () => import('qr/decode.js')): Promise<QrDetector> {
	const native = await nativeDetector();
	if (native) return native;
	const { BarcodeDetector } = await load();
	return new (BarcodeDetector as DetectorClass)({ formats: ['qr_code'] });
}

/**
 * - `scan.decoded { text }`: a QR code was read (each different text once in a row).
 * - `scan.unavailable`: no way to read QR codes here (the decoder's code would not load).
 */
export type ReadCodesEvent = { type: 'scan.decoded'; text: string } | { type: 'scan.unavailable' };

/** How often a frame is looked at: fast enough to feel instant, light on a phone's battery. */
const frameInterval = 150;

/**
 * Reads QR codes from the camera stream: plays it in a detached, muted <video> (the preview on
 * screen stays the view's) and hands a frame to the detector every `frameInterval` ms.
 */
export const readCodes = fromCallback<{ type: string }, { stream: MediaStream | null }>(({ input, sendBack }) => {
	let stopped = false;
	let timer: ReturnType<typeof setTimeout> | undefined;
	const video = document.createElement('video');
	video.muted = true;
	video.playsInline = true;
	video.srcObject = input.stream;
	let last = '';
	qrDetector().then(
		(detector) => {
			if (stopped) return;
			void video.play().catch(() => {});
			const look = async () => {
				if (stopped) return;
				if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth) {
					// A frame the detector cannot read (a blink, a frame mid-switch) is no code.
					const codes = await detector.detect(video).catch(() => []);
					const text = codes.find((c) => c.rawValue)?.rawValue ?? '';
					if (!stopped && text && text !== last) sendBack({ type: 'scan.decoded', text } satisfies ReadCodesEvent);
					if (text) last = text;
				}
				if (!stopped) timer = setTimeout(look, frameInterval);
			};
			void look();
		},
		() => {
			if (!stopped) sendBack({ type: 'scan.unavailable' } satisfies ReadCodesEvent);
		}
	);
	return () => {
		stopped = true;
		clearTimeout(timer);
		video.pause();
		video.srcObject = null;
	};
});
