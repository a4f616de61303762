/**
 * Tap to play (issue 19, 4b), in real Chromium between two pages. iOS Safari refuses to play
 * media with sound unless play() is called inside a tap; here an init script makes the callee's
 * Chromium do the same (unmuted play() outside a click handler rejects with NotAllowedError,
 * and `autoplay` is taken off, as iOS ignores it for sound). The far side's video must then
 * offer a "Tap to play" button that plays it; the muted preview plays as before.
 */
import { describe, expect, test } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { openAppPage, placeCall } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/** Unmuted media plays only from inside a click, as on iOS. */
async function likeIos(context: BrowserContext) {
	await context.addInitScript(() => {
		let inTap = false;
		addEventListener(
			'click',
			() => {
				inTap = true;
				setTimeout(() => (inTap = false), 0);
			},
			true
		);
		const play = HTMLMediaElement.prototype.play;
		HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
			if (!this.muted && !inTap) return Promise.reject(new DOMException('play() needs a tap', 'NotAllowedError'));
			return play.call(this);
		};
		new MutationObserver(() => {
			for (const video of document.querySelectorAll('video[autoplay]')) video.removeAttribute('autoplay');
		}).observe(document, { subtree: true, childList: true });
	});
}

describe('the far side’s video where the browser wants a tap to play sound', () => {
	test('a “Tap to play” button shows over it, touch-sized and named; a tap plays it and the button goes', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url, { prepare: likeIos });
		try {
			// The muted preview plays without a tap.
			await expect.poll(() => b.getByTestId('local-video').evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);
			await placeCall(a, b);
			const remote = b.getByTestId('remote-video');
			const button = b.getByRole('button', { name: 'Tap to play' });
			await button.waitFor();
			expect(await b.getByTestId('tap-to-play').count()).toBe(1);
			expect(await remote.evaluate((v: HTMLVideoElement) => v.paused)).toBe(true);
			const box = (await button.boundingBox())!;
			expect(Math.min(box.width, box.height)).toBeGreaterThanOrEqual(48);

			await button.click();
			await expect.poll(() => remote.evaluate((v: HTMLVideoElement) => !v.paused && !v.muted)).toBe(true);
			await expect.poll(() => b.getByTestId('tap-to-play').count()).toBe(0);
			// The caller's browser played it by itself: no button there.
			expect(await a.getByTestId('tap-to-play').count()).toBe(0);
			expect(await a.getByTestId('remote-video').evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);
		} finally {
			await a.context().close();
			await b.context().close();
		}
	});
});
