/**
 * Scan to call (issue 16), in real Chromium: a page whose fake camera shows a QR code (a Y4M
 * file this test draws with the `qrcode` package and plays through
 * `--use-file-for-fake-video-capture`) taps scan, and the ID field gets the ID in it. Calling
 * still takes a tap. A QR code with another URL is refused with a message and fills nothing.
 * Headless Linux Chromium has no BarcodeDetector, so this runs the decoder package, which
 * loads only on the tap.
 */
import fs from 'node:fs';
import path from 'node:path';
import QRCode from 'qrcode';
import { describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launch, openAppPage, peerIdOf, root, stateOf, waitForState } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/**
 * A Y4M video of `text` as a QR code: 4:2:0, 640×480, a few identical frames (Chromium loops
 * the file), black modules on white in the Y plane, neutral chroma.
 */
function qrVideo(text: string, name: string): string {
	const width = 640;
	const height = 480;
	const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
	const size = qr.modules.size;
	const scale = Math.floor((height * 0.85) / (size + 8));
	const left = Math.floor((width - size * scale) / 2);
	const top = Math.floor((height - size * scale) / 2);
	const y = Buffer.alloc(width * height, 255);
	for (let row = 0; row < size; row++) {
		for (let col = 0; col < size; col++) {
			if (!qr.modules.get(row, col)) continue;
			for (let dy = 0; dy < scale; dy++) y.fill(0, (top + row * scale + dy) * width + left + col * scale, (top + row * scale + dy) * width + left + (col + 1) * scale);
		}
	}
	const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
	const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
	const file = path.join(root, 'tests/.artifacts', `${name}.y4m`);
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F5:1 Ip A1:1 C420jpeg\n`), frame, frame, frame]));
	return file;
}

/** A browser whose one camera shows `file`. */
const cameraShowing = (file: string): Promise<Browser> => launch({ deviceCount: 1, args: [`--use-file-for-fake-video-capture=${file}`] });

/** The built files of the scanner's view and of the decoder package, from Vite's manifest. */
function scannerChunks(): { sheet: string; decoder: string } {
	const manifest = JSON.parse(fs.readFileSync(path.join(root, '.svelte-kit/output/client/.vite/manifest.json'), 'utf8')) as Record<
		string,
		{ file: string; src?: string }
	>;
	const find = (pattern: RegExp) => {
		const entry = Object.values(manifest).find((e) => e.src && pattern.test(e.src));
		if (!entry) throw new Error(`no chunk of its own for ${pattern}: is it still imported on demand?`);
		return `/${entry.file}`;
	};
	return { sheet: find(/src\/lib\/components\/ScanSheet\.svelte$/), decoder: find(/node_modules\/qr\/decode\.js$/) };
}

const loaded = (page: Page) =>
	page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));

describe('scan to call', () => {
	test('a camera showing a share link’s QR code fills the ID field; the call still takes a tap', async () => {
		const callee = await openAppPage(env.browser, env.server.url);
		const calleeId = await peerIdOf(callee);
		const link = await callee.getByTestId('share-link').inputValue();
		expect(link).toBe(`${env.server.url}/?call=${calleeId}`);

		const browser = await cameraShowing(qrVideo(link, 'scan-share-link'));
		try {
			const page = await openAppPage(browser, env.server.url);
			// No native reader here: the package does the reading, and none of it loads before the tap.
			expect(await page.evaluate(() => 'BarcodeDetector' in window)).toBe(false);
			const chunks = scannerChunks();
			expect(await loaded(page)).not.toContain(chunks.sheet);
			expect(await loaded(page)).not.toContain(chunks.decoder);

			await page.getByTestId('scan').click();
			await expect.poll(() => page.getByTestId('dial-input').inputValue(), { timeout: 15_000 }).toBe(calleeId);
			expect(await loaded(page)).toEqual(expect.arrayContaining([chunks.sheet, chunks.decoder]));
			// The scanner closed itself, said what it did, and left the Call button focused.
			await page.getByTestId('scan-sheet').waitFor({ state: 'detached' });
			expect(await page.getByTestId('scan-note').textContent()).toBe(`Scanned ${calleeId}. Tap Call to call.`);
			expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('dial');
			// Nothing was dialled by itself.
			await page.waitForTimeout(500);
			expect(await stateOf(page, 'call')).toBe('idle');
			expect(await stateOf(callee, 'call')).toBe('idle');
			// The tap: the ID read from the code rings the callee.
			await page.getByTestId('dial').click();
			await waitForState(callee, 'call', 'ringing');
			await page.getByTestId('hangup').click();
		} finally {
			await browser.close();
			await callee.context().close();
		}
	});

	test('a QR code with another URL is refused with a message; the field is not filled; cancel closes', async () => {
		const browser = await cameraShowing(qrVideo('https://example.org/menu?table=4', 'scan-other-url'));
		try {
			const page = await openAppPage(browser, env.server.url);
			await page.getByTestId('scan').click();
			const sheet = page.getByRole('dialog', { name: 'Scan a QR code' });
			await sheet.waitFor();
			// The page behind is out of reach (keyboard, screen reader) while the scanner is open.
			expect(await page.locator('main').getAttribute('inert')).not.toBeNull();
			await expect
				.poll(() => page.getByTestId('scan-status').textContent(), { timeout: 15_000 })
				.toBe('Not a CamCall link or ID: “https://example.org/menu?table=4”');
			expect(await page.getByTestId('scan-sheet').getAttribute('data-state')).toBe('scanning');
			expect(await page.getByTestId('dial-input').inputValue()).toBe('');
			const cancel = page.getByTestId('scan-cancel');
			const box = await cancel.boundingBox();
			expect(box!.height).toBeGreaterThanOrEqual(44);
			await cancel.click();
			await sheet.waitFor({ state: 'detached' });
			expect(await page.locator('main').getAttribute('inert')).toBeNull();
			expect(await page.getByTestId('dial-input').inputValue()).toBe('');
			expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('scan');
			// The preview is still the camera's: the scanner left it as it was.
			await waitForState(page, 'capture', 'live');
		} finally {
			await browser.close();
		}
	});
});
