/**
 * Zoom and torch (issue 16): shown only for a camera whose track reports them. Chromium's fake
 * camera reports neither, so the first test checks that nothing shows and the controls' code is
 * never fetched; the second gives the tracks an Android back camera's capabilities (an init
 * script wraps getCapabilities / getSettings / applyConstraints) and drives the controls as a
 * person would: keys on the slider, a two-finger pinch on the preview, a tap on the torch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openAppPage, root } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/** The built file of CamCall's CameraControls component, from Vite's manifest. */
function controlsChunk(): string {
	const manifest = JSON.parse(fs.readFileSync(path.join(root, '.svelte-kit/output/client/.vite/manifest.json'), 'utf8')) as Record<
		string,
		{ file: string; src?: string }
	>;
	const entry = Object.values(manifest).find((e) => e.src === 'src/lib/components/CameraControls.svelte');
	if (!entry) throw new Error('CameraControls.svelte is not a chunk of its own: is it still imported on demand?');
	return entry.file;
}

const loaded = (page: Page) =>
	page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));

/** An Android back camera's zoom and torch on every video track; applyConstraints records. */
const fakeZoomAndTorch = () => {
	const w = window as unknown as { __applied: unknown[] };
	w.__applied = [];
	const state = new WeakMap<MediaStreamTrack, { zoom: number; torch: boolean }>();
	const of = (track: MediaStreamTrack) => {
		let s = state.get(track);
		if (!s) state.set(track, (s = { zoom: 1, torch: false }));
		return s;
	};
	const P = MediaStreamTrack.prototype;
	const { getCapabilities, getSettings, applyConstraints } = P;
	P.getCapabilities = function (this: MediaStreamTrack) {
		const caps = getCapabilities.call(this);
		return this.kind === 'video' ? { ...caps, zoom: { min: 1, max: 4, step: 0.1 }, torch: true } : caps;
	} as typeof getCapabilities;
	P.getSettings = function (this: MediaStreamTrack) {
		const settings = getSettings.call(this);
		return this.kind === 'video' ? { ...settings, ...of(this) } : settings;
	} as typeof getSettings;
	P.applyConstraints = async function (this: MediaStreamTrack, constraints?: MediaTrackConstraints) {
		if (this.kind !== 'video') return applyConstraints.call(this, constraints);
		w.__applied.push(JSON.parse(JSON.stringify(constraints)));
		for (const set of (constraints?.advanced ?? []) as { zoom?: number; torch?: boolean }[]) {
			if (set.zoom !== undefined) of(this).zoom = set.zoom;
			if (set.torch !== undefined) of(this).torch = set.torch;
		}
	};
};

const applied = (page: Page) => page.evaluate(() => (window as unknown as { __applied: unknown[] }).__applied);
const trackSettings = (page: Page) =>
	page.evaluate(() => {
		const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
		const s = (v.srcObject as MediaStream).getVideoTracks()[0].getSettings() as { zoom?: number; torch?: boolean };
		return { zoom: s.zoom, torch: s.torch };
	});

/** Two fingers on the preview, `from` px apart, spreading to `to` px. */
async function pinch(page: Page, from: number, to: number) {
	await page.evaluate(
		([a, b]) => {
			const stage = document.querySelector('.stage') as HTMLElement;
			const r = stage.getBoundingClientRect();
			const cx = r.left + r.width / 2;
			const cy = r.top + r.height / 3;
			const fire = (type: string, id: number, x: number) =>
				stage.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch', clientX: x, clientY: cy, bubbles: true }));
			fire('pointerdown', 1, cx - a / 2);
			fire('pointerdown', 2, cx + a / 2);
			for (let i = 1; i <= 5; i++) {
				const d = a + ((b - a) * i) / 5;
				fire('pointermove', 1, cx - d / 2);
				fire('pointermove', 2, cx + d / 2);
			}
			fire('pointerup', 1, cx - b / 2);
			fire('pointerup', 2, cx + b / 2);
		},
		[from, to] as const
	);
}

describe('camera controls', () => {
	test('the fake camera reports no zoom or torch: no controls, and their code is never fetched', async () => {
		const page = await openAppPage(env.browser, env.server.url);
		const caps = await page.evaluate(() => {
			const v = document.querySelector('[data-testid=local-video]') as HTMLVideoElement;
			const c = (v.srcObject as MediaStream).getVideoTracks()[0].getCapabilities() as Record<string, unknown>;
			return { zoom: 'zoom' in c, torch: 'torch' in c };
		});
		expect(caps).toEqual({ zoom: false, torch: false });
		await page.waitForTimeout(500);
		expect(await page.getByTestId('camera-controls').count()).toBe(0);
		expect(await page.getByTestId('zoom').count()).toBe(0);
		expect(await page.getByTestId('torch').count()).toBe(0);
		expect(await loaded(page)).not.toContain(`/${controlsChunk()}`);
		await page.context().close();
	});

	test('a camera that reports them: slider, pinch and torch reach the track, labelled, announced and finger-sized', async () => {
		const page = await openAppPage(env.browser, env.server.url, { prepare: (c) => c.addInitScript(fakeZoomAndTorch) });
		const zoom = page.getByRole('slider', { name: 'Zoom' });
		await zoom.waitFor({ timeout: 10_000 });
		expect(await loaded(page)).toContain(`/${controlsChunk()}`);
		const torch = page.getByRole('button', { name: 'Torch' });
		expect(await torch.getAttribute('aria-pressed')).toBe('false');
		for (const box of [await zoom.boundingBox(), await torch.boundingBox()]) {
			expect(box!.height).toBeGreaterThanOrEqual(44);
			expect(box!.width).toBeGreaterThanOrEqual(44);
		}

		// The slider, by keyboard: to the far end, then one step back.
		await zoom.focus();
		await page.keyboard.press('End');
		await expect.poll(() => trackSettings(page)).toMatchObject({ zoom: 4 });
		await page.keyboard.press('ArrowLeft');
		await expect.poll(() => trackSettings(page)).toMatchObject({ zoom: 3.9 });
		expect(await zoom.getAttribute('aria-valuetext')).toBe('3.9×');

		// A pinch from 1× doubles with the spread of the fingers, and says where it ended.
		await page.keyboard.press('Home');
		await expect.poll(() => trackSettings(page)).toMatchObject({ zoom: 1 });
		await pinch(page, 100, 200);
		await expect.poll(() => trackSettings(page)).toMatchObject({ zoom: 2 });
		await expect.poll(() => zoom.getAttribute('aria-valuetext')).toBe('2.0×');
		await expect.poll(() => page.getByTestId('camera-controls').getByRole('status').textContent()).toBe('2.0×');

		// The torch: a toggle, announced.
		await torch.click();
		await expect.poll(() => trackSettings(page)).toMatchObject({ torch: true });
		expect(await torch.getAttribute('aria-pressed')).toBe('true');
		expect(await page.getByTestId('camera-controls').getByRole('status').textContent()).toBe('Torch on');
		await torch.click();
		await expect.poll(() => trackSettings(page)).toMatchObject({ torch: false });
		expect(await torch.getAttribute('aria-pressed')).toBe('false');
		expect(JSON.stringify(await applied(page))).toContain('{"advanced":[{"torch":true}]}');
		await page.context().close();
	});
});
