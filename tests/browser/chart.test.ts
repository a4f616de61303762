/**
 * The chart tells the truth in a real browser: each offer/answer step and ICE gathering is seen
 * as it happens, the hang-up races leave nothing live, and a side that sends no media is not
 * mistaken for a broken connection.
 */
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import {
	decodesFrames,
	dialId,
	instrumentWebRtc,
	liveTracks,
	openPcs,
	peerIdOf,
	placeCall,
	stateOf,
	waitForState
} from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser();

/** Records every value the root's data-call-path and data-ice-gathering take, as they change. */
const recordStates = () => {
	const w = window as unknown as { __states: Record<string, string[]> };
	w.__states = { 'data-call-path': [], 'data-ice-gathering': [] };
	new MutationObserver((records) => {
		for (const r of records) {
			const value = (r.target as Element).getAttribute(r.attributeName!) ?? '';
			const list = w.__states[r.attributeName!];
			if (list && list.at(-1) !== value) list.push(value);
		}
	}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-call-path', 'data-ice-gathering'] });
};

/**
 * The microphone as a person grants it: `delayMs` after the request (a permission prompt
 * answered late), or never (`refuse`: no microphone).
 */
const slowMicrophone = ({ delayMs, refuse }: { delayMs: number; refuse: boolean }) => {
	const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
	navigator.mediaDevices.getUserMedia = async (constraints) => {
		if (!constraints?.audio) return gum(constraints);
		await new Promise((r) => setTimeout(r, delayMs));
		if (refuse) throw new DOMException('Permission denied', 'NotAllowedError');
		return gum(constraints);
	};
};

async function openPage(mic: { delayMs?: number; refuse?: boolean } = {}): Promise<Page> {
	const context = await env.browser.newContext({ viewport: { width: 390, height: 844 } });
	await context.addInitScript(recordStates);
	await context.addInitScript(instrumentWebRtc);
	if (mic.delayMs !== undefined || mic.refuse) await context.addInitScript(slowMicrophone, { delayMs: mic.delayMs ?? 0, refuse: !!mic.refuse });
	const page = await context.newPage();
	await page.goto(env.server.url);
	await waitForState(page, 'capture', 'live');
	await waitForState(page, 'signaling', 'open');
	return page;
}

const history = (page: Page, attr: string) =>
	page.evaluate((a) => (window as unknown as { __states: Record<string, string[]> }).__states[a], attr);

async function closeAll(...pages: Page[]) {
	for (const p of pages) await p.context().close();
}

describe('the chart in a real call', () => {
	test('caller passes calling.haveLocalOffer, callee connecting.haveRemoteOffer; gathering then complete; /inspect lists the steps and the trickle', async () => {
		const a = await openPage();
		const b = await openPage();
		await placeCall(a, b);
		// (`idle` is the attribute's first value, set before the observer sees changes.)
		const callerPath = (await history(a, 'data-call-path')).filter((v) => v !== 'idle');
		const calleePath = (await history(b, 'data-call-path')).filter((v) => v !== 'idle');
		expect(callerPath).toEqual(['calling.microphone', 'calling.offering', 'calling.haveLocalOffer', 'connecting.ice', 'connected']);
		expect(calleePath).toEqual([
			'ringing',
			'connecting.microphone',
			'connecting.answering',
			'connecting.haveRemoteOffer',
			'connecting.ice',
			'connected'
		]);
		for (const page of [a, b]) {
			await waitForState(page, 'ice-gathering', 'complete');
			const gathering = await history(page, 'data-ice-gathering');
			expect(gathering.slice(gathering.indexOf('gathering'))).toEqual(['gathering', 'complete']);
		}

		// The inspector (an in-app link: the call stays up) shows the same, and the trickle.
		await a.getByTestId('inspect-link').click();
		const log = a.getByTestId('event-log');
		await expect.poll(() => log.locator('[data-event="pc.localCandidate"]').count()).toBeGreaterThan(0);
		await expect.poll(() => log.locator('[data-event="pc.remoteCandidate"]').count()).toBeGreaterThan(0);
		expect(await log.locator('[data-event="media.signalingState"]').count()).toBeGreaterThanOrEqual(2);
		const callChart = a.locator('[data-testid="statechart"][data-machine="call"]');
		await expect.poll(() => callChart.locator('[data-state-node="connected"]').getAttribute('data-active')).toBe('true');
		const iceChart = a.locator('[data-testid="statechart"][data-machine="ice"]');
		await expect.poll(() => iceChart.locator('[data-state-node="gathering.complete"]').getAttribute('data-active')).toBe('true');
		expect(await stateOf(b, 'call')).toBe('connected');
		await closeAll(a, b);
	});
});

describe('hang-up races', () => {
	test('the caller hangs up while its microphone is still opening: the late track is stopped, nothing stays open', async () => {
		const a = await openPage({ delayMs: 1500 });
		const b = await openPage();
		await dialId(a, await peerIdOf(b));
		await waitForState(a, 'call-path', 'calling.microphone');
		await a.getByTestId('hangup').click();
		await waitForState(a, 'call', 'ended');
		// The microphone arrives after the call ended: it must be stopped at once.
		await a.waitForTimeout(2500);
		expect(await liveTracks(a, 'audio')).toBe(0);
		expect(await openPcs(a)).toBe(0);
		expect(await stateOf(b, 'call')).toBe('idle');
		await closeAll(a, b);
	});

	test('the caller cancels while the callee’s microphone opens after Accept: both end, no live microphone, no open pc', async () => {
		const a = await openPage();
		const b = await openPage({ delayMs: 2000 });
		await dialId(a, await peerIdOf(b));
		await waitForState(b, 'call', 'ringing');
		await b.getByTestId('accept').click();
		await waitForState(b, 'call-path', 'connecting.microphone');
		await a.getByTestId('hangup').click();
		await waitForState(a, 'call', 'ended');
		await waitForState(b, 'call', 'ended', 5000);
		await b.waitForTimeout(2500);
		for (const page of [a, b]) {
			expect(await liveTracks(page, 'audio')).toBe(0);
			expect(await openPcs(page)).toBe(0);
		}
		await closeAll(a, b);
	});
});

describe('camera off is not a broken connection', () => {
	test('a caller with no microphone turns its camera off: the far side says so and stays connected; the preview keeps running', async () => {
		const a = await openPage({ refuse: true });
		const b = await openPage();
		await placeCall(a, b);
		expect(await liveTracks(a, 'audio')).toBe(0);
		await a.getByTestId('camera-toggle').click();
		await expect.poll(() => b.getByTestId('remote-camera-off').count(), { timeout: 5000 }).toBe(1);
		// Nothing at all is sent now: longer than the stall grace and the recovery grace together.
		await b.waitForTimeout(9000);
		expect(await stateOf(b, 'call')).toBe('connected');
		expect(await stateOf(a, 'call')).toBe('connected');
		// The preview and the shutter still have the camera.
		expect(await decodesFrames(a, 'local-video')).toBe(true);
		expect(await a.getByTestId('shutter').isEnabled()).toBe(true);
		await a.getByTestId('camera-toggle').click();
		await expect.poll(() => b.getByTestId('remote-camera-off').count(), { timeout: 5000 }).toBe(0);
		expect(await decodesFrames(b, 'remote-video')).toBe(true);
		await a.getByTestId('hangup').click();
		await waitForState(b, 'call', 'ended', 5000);
		await closeAll(a, b);
	});
});
