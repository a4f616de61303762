/**
 * Issue 16's safety code, in two real pages calling each other: both show the same twelve
 * digits, the same as this file computes on its own from the pcs' SDPs by the rule; the same
 * two devices get the same code on the next call; a code verified before and now different is
 * said plainly and the call goes on.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openAppPage, peerIdOf, placeCall, textOf, waitForState } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/** The media pc's local and remote SDP (the newest open pc with transceivers). */
function sdpsOf(page: Page): Promise<{ local: string; remote: string }> {
	return page.evaluate(() => {
		const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
		const pc = pcs.filter((p) => p.signalingState !== 'closed' && p.getTransceivers().length).at(-1);
		return { local: pc?.localDescription?.sdp ?? '', remote: pc?.remoteDescription?.sdp ?? '' };
	});
}

const fingerprint = (sdp: string) => {
	const line = sdp.split(/\r?\n/).find((l) => l.startsWith('a=fingerprint:'));
	expect(line, 'an a=fingerprint line').toBeTruthy();
	return line!.slice('a=fingerprint:'.length).trim();
};

/** The rule of issue 16, written again here with Node's crypto. */
function ruleCode(a: string, b: string): string {
	const hash = createHash('sha256').update([a, b].sort().join('\n'), 'utf8').digest();
	const digits = (hash.readBigUInt64BE(0) % 10n ** 12n).toString().padStart(12, '0');
	return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}

async function shownCode(page: Page): Promise<string> {
	await expect.poll(() => textOf(page, 'safety-code'), { timeout: 10_000 }).toMatch(/^\d{4} \d{4} \d{4}$/);
	return (await textOf(page, 'safety-code')).trim();
}

async function hangUp(a: Page, b: Page) {
	await a.getByTestId('hangup').click();
	await Promise.all([waitForState(a, 'call', 'ended'), waitForState(b, 'call', 'ended', 5000)]);
	for (const p of [a, b]) if (await p.getByTestId('call-dismiss').count()) await p.getByTestId('call-dismiss').click();
}

describe('the safety code', () => {
	test('both sides show the code the rule gives for their SDPs; the same two devices get it again on the next call', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url);
		await placeCall(a, b);
		const [codeA, codeB] = [await shownCode(a), await shownCode(b)];
		expect(codeA).toBe(codeB);

		const sa = await sdpsOf(a);
		const sb = await sdpsOf(b);
		// What one side sent is what the other received.
		expect(fingerprint(sa.local)).toBe(fingerprint(sb.remote));
		expect(fingerprint(sb.local)).toBe(fingerprint(sa.remote));
		expect(fingerprint(sa.local)).not.toBe(fingerprint(sb.local));
		expect(codeA).toBe(ruleCode(fingerprint(sa.local), fingerprint(sa.remote)));

		// Again, the other way round: each device kept its certificate.
		await hangUp(a, b);
		await placeCall(b, a);
		expect(await shownCode(a)).toBe(codeA);
		expect(await shownCode(b)).toBe(codeA);
		const again = await sdpsOf(b);
		expect(ruleCode(fingerprint(again.local), fingerprint(again.remote))).toBe(codeA);
		await hangUp(b, a);
		await a.context().close();
		await b.context().close();
	}, 60_000);

	test('marked as verified, the next call says so; a code that differs from the verified one is said plainly and the call goes on', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url);
		const bId = await peerIdOf(b);
		await placeCall(a, b);
		const code = await shownCode(a);
		await a.getByTestId('safety-code').click();
		await a.getByTestId('safety-verify').click();
		await a.getByTestId('safety-unverify').waitFor();
		const saved = await a.evaluate(() => localStorage.getItem('camcall.verified'));
		expect(JSON.parse(saved ?? '{}')).toEqual({ [bId]: code });

		await hangUp(a, b);
		await placeCall(a, b);
		expect(await shownCode(a)).toBe(code);
		await a.getByTestId('safety-code').click();
		await a.getByTestId('safety-unverify').waitFor();
		expect(await a.getByTestId('safety-changed').count()).toBe(0);

		// As if b were another device now: the code verified before differs from this call's.
		await hangUp(a, b);
		await a.evaluate((id) => localStorage.setItem('camcall.verified', JSON.stringify({ [id]: '0000 0000 0000' })), bId);
		await placeCall(a, b);
		expect(await shownCode(a)).toBe(code);
		await expect.poll(() => textOf(a, 'safety-changed')).toContain('changed since you verified it');
		await a.waitForTimeout(1000);
		expect(await a.getAttribute('[data-testid="app"]', 'data-call')).toBe('connected');
		// Compared again: this code replaces the old one.
		await a.getByTestId('safety-verify').click();
		await expect.poll(() => a.evaluate(() => localStorage.getItem('camcall.verified'))).toBe(JSON.stringify({ [bId]: code }));
		expect(await a.getByTestId('safety-changed').count()).toBe(0);
		await a.context().close();
		await b.context().close();
	}, 60_000);
});
