/**
 * How a call ends, as two people see it (issue 15, item 6), in real Chromium between two pages:
 * a normal ending is calm (how long the call lasted, why it ended, "Call again"), the one who
 * declined is told "You declined", and only faults keep the alert style.
 */
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { dialId, openAppPage, peerIdOf, placeCall, textOf, waitForState } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/** The ended card's parts, as a person reads them. */
async function endedCard(page: Page) {
	const card = page.getByTestId('call-ended');
	await card.waitFor();
	return {
		text: ((await card.textContent()) ?? '').replace(/\s+/g, ' ').trim(),
		duration: (await card.getByTestId('call-duration').count()) ? await card.getByTestId('call-duration').textContent() : null,
		// The contract's `error` (the human message) is inside the calm card, not a red alert.
		message: (await card.getByTestId('error').count()) ? await card.getByTestId('error').textContent() : null,
		alerts: await page.locator('.error[data-testid="error"]').count()
	};
}

describe('calm endings', () => {
	test('hung up after a while: both see "Call ended · 0:0N"; the other is told who hung up; "Call again" rings them again', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url);
		try {
			await placeCall(a, b);
			await a.waitForTimeout(2_300);
			await b.getByTestId('hangup').click();
			await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended')]);

			const mine = await endedCard(b);
			expect(mine.duration).toMatch(/^0:0[2-5]$/);
			expect(mine.text).toContain('Call ended');
			expect(mine.message, 'hanging up yourself is not news').toBeNull();
			expect(mine.alerts).toBe(0);

			// Who it was with, by the name or ID the person knows.
			expect(mine.text).toContain(await peerIdOf(a));
			const theirs = await endedCard(a);
			expect(theirs.duration).toMatch(/^0:0[2-5]$/);
			expect(theirs.message).toContain('hung up');
			expect(theirs.alerts).toBe(0);
			expect(await textOf(a, 'error')).toContain('hung up');

			// One tap calls the same person again.
			await a.getByTestId('call-again').click();
			await waitForState(b, 'call', 'ringing');
			await b.getByTestId('decline').click();
			await waitForState(b, 'call', 'ended');
			const declined = await endedCard(a);
			expect(declined.message).toContain('declined');
			expect(declined.duration, 'never connected: no duration').toBeNull();
			const decliner = await endedCard(b);
			expect(decliner.message).toMatch(/^You declined/);
			expect(decliner.text).toContain('Call back');

			// Dismiss clears it.
			await b.getByTestId('call-dismiss').click();
			await waitForState(b, 'call', 'idle');
			expect(await b.getByTestId('call-ended').count()).toBe(0);
		} finally {
			await a.context().close();
			await b.context().close();
		}
	});

	test('in Chinese: 通话结束 with the duration, and 拒绝 for the one who declined', async () => {
		const zh = { prepare: (c: import('playwright-core').BrowserContext) => c.addInitScript(() => localStorage.setItem('camcall.locale', 'zh')) };
		const a = await openAppPage(env.browser, env.server.url, zh);
		const b = await openAppPage(env.browser, env.server.url, zh);
		try {
			await dialId(a, await peerIdOf(b));
			await waitForState(b, 'call', 'ringing');
			await b.getByTestId('decline').click();
			await waitForState(a, 'call', 'ended');
			expect((await endedCard(b)).message).toContain('你拒绝');
			expect((await endedCard(a)).message).toContain('拒绝');
			await a.getByTestId('call-again').click();
			await waitForState(b, 'call', 'ringing');
			await b.getByTestId('accept').click();
			await waitForState(a, 'call', 'connected');
			await a.getByTestId('hangup').click();
			expect((await endedCard(a)).text).toMatch(/通话结束 · 0:0\d/);
		} finally {
			await a.context().close();
			await b.context().close();
		}
	});

	test('a fault is still an alert: an ID nobody has', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		try {
			await dialId(a, 'nobody-here-0000');
			await waitForState(a, 'call', ['failed', 'ended']);
			await expect.poll(() => textOf(a, 'error')).toContain('Nobody is online');
			expect(await a.locator('.error[data-testid="error"]').count()).toBe(1);
			expect(await a.getByTestId('call-ended').count()).toBe(0);
		} finally {
			await a.context().close();
		}
	});
});
