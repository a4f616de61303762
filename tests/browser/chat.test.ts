/**
 * Issue 16's chat, in real calls: two app pages chat, and markup arrives as the same text and
 * stays inert; a raw PeerJS page (tests/browser/sender/) in a call with the app sends what a
 * hostile peer would (a chat naming another call, oversize and too many messages), and a third
 * page that is in no call tries too.
 */
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openAppPage, peerIdOf, placeCall, root, textOf, waitForState } from './harness';
import { serverAndBrowser } from './fixture';

const env = serverAndBrowser({
	extraStatic: {
		'/test-sender/peerjs': path.join(root, 'node_modules/peerjs/dist'),
		'/test-sender': path.join(root, 'tests/browser/sender')
	}
});

const hostile = '<img src=x onerror="window.__pwned=1"> <b>bold</b> <script>window.__pwned=2</script>';

async function chatTexts(page: Page): Promise<string[]> {
	return page.evaluate(() =>
		Array.from(document.querySelectorAll('[data-testid="chat-message"]'), (el) => {
			const copy = el.cloneNode(true) as HTMLElement;
			copy.querySelector('.sr-only')?.remove();
			return copy.textContent ?? '';
		})
	);
}

async function sendChat(page: Page, text: string) {
	await page.getByTestId('chat-input').fill(text);
	await page.getByTestId('chat-send').click();
}

async function senderPage(): Promise<{ page: Page; id: string }> {
	const context = await env.browser.newContext();
	const page = await context.newPage();
	await page.goto(`${env.server.url}/test-sender/index.html`);
	const id = await page.evaluate(() => (window as never as { sender: { ready: Promise<string> } }).sender.ready);
	return { page, id };
}

type ChatResult = { opened: boolean; answered: boolean; said: { t: string; why?: string }[] };
function senderChat(sender: Page, to: string, callId: string, frames: string[], ms = 3000): Promise<ChatResult> {
	return sender.evaluate(
		({ to, callId, frames, ms }) =>
			(window as never as { sender: { chat(to: string, c: string, f: string[], ms: number): Promise<ChatResult> } }).sender.chat(to, callId, frames, ms),
		{ to, callId, frames, ms }
	);
}
const msg = (text: string) => JSON.stringify({ t: 'msg', text });

describe('chat in a call', () => {
	test('markup arrives as the same text and stays inert; unread is counted while collapsed; both ways', async () => {
		const a = await openAppPage(env.browser, env.server.url);
		const b = await openAppPage(env.browser, env.server.url);
		await placeCall(a, b);
		await a.getByTestId('chat-input').and(a.locator(':enabled')).waitFor({ timeout: 10_000 });
		await sendChat(a, hostile);
		await sendChat(a, 'xyzzy');
		await expect.poll(() => chatTexts(b), { timeout: 10_000 }).toEqual([hostile, 'xyzzy']);
		expect(await chatTexts(a)).toEqual([hostile, 'xyzzy']);
		// Nothing was made of the markup, and nothing ran.
		for (const page of [a, b]) {
			expect(await page.locator('[data-testid="chat"] img, [data-testid="chat"] b, [data-testid="chat"] script').count()).toBe(0);
			expect(await page.evaluate(() => (window as never as { __pwned?: number }).__pwned)).toBeUndefined();
		}
		expect(await textOf(b, 'chat-unread')).toBe('2');
		await b.getByTestId('chat-toggle').click();
		expect(await b.getByTestId('chat-unread').count()).toBe(0);
		await sendChat(b, 'hello back');
		await expect.poll(() => chatTexts(a)).toEqual([hostile, 'xyzzy', 'hello back']);
		expect(await textOf(a, 'chat-unread')).toBe('1');
		// The call's controls are still there and usable.
		await expect(a.getByTestId('hangup').isVisible()).resolves.toBe(true);
		// Nothing of it stays after the call.
		await a.getByTestId('hangup').click();
		await waitForState(b, 'call', 'ended', 5000);
		expect(await b.getByTestId('chat-message').count()).toBe(0);
		expect(await b.evaluate(() => JSON.stringify(localStorage)).then((s) => s.includes('xyzzy'))).toBe(false);
		await a.context().close();
		await b.context().close();
	}, 60_000);
});

describe('chat from a hostile or stranger peer', () => {
	test('wrong callId and a stranger are refused unanswered; the call peer’s oversize and flood are refused with a reason', async () => {
		const app = await openAppPage(env.browser, env.server.url);
		const appId = await peerIdOf(app);
		const { page: sender } = await senderPage();
		const placed = sender.evaluate((to) => (window as never as { sender: { call(to: string): Promise<string> } }).sender.call(to), appId);
		await waitForState(app, 'call', 'ringing');
		await app.getByTestId('accept').click();
		const callId = await placed;
		await waitForState(app, 'call', 'connected');

		// The call's own peer, naming another call.
		expect(await senderChat(sender, appId, 'not-this-call', [msg('wrong call')])).toEqual({ opened: false, answered: false, said: [] });
		// A page in no call with the app, naming the right call.
		const { page: stranger } = await senderPage();
		expect(await senderChat(stranger, appId, callId, [msg('stranger')])).toEqual({ opened: false, answered: false, said: [] });
		expect(await app.getByTestId('chat-message').count()).toBe(0);

		// The call's peer: accepted; oversize refused, both told; garbage ignored.
		const first = await senderChat(sender, appId, callId, [msg('ok <i>one</i>'), msg('x'.repeat(2001)), 'not json', JSON.stringify({ t: 'msg', text: 5 })]);
		expect(first.opened).toBe(true);
		expect(first.said).toEqual([{ t: 'refuse', why: 'too-long' }]);
		await expect.poll(() => chatTexts(app)).toEqual(['ok <i>one</i>']);
		await expect.poll(() => textOf(app, 'chat-notice')).toContain('longer than 2000 characters');

		// A flood: the burst is shown, the rest refused.
		const flood = await senderChat(sender, appId, callId, Array.from({ length: 20 }, (_, i) => msg(`m${i}`)));
		expect(flood.said.length).toBeGreaterThanOrEqual(10);
		expect(flood.said.every((m) => m.t === 'refuse' && m.why === 'rate')).toBe(true);
		await expect.poll(() => textOf(app, 'chat-notice')).toContain('too many messages');
		const shown = await chatTexts(app);
		expect(shown.length).toBeLessThanOrEqual(10);
		expect(shown.slice(1)).toEqual(Array.from({ length: shown.length - 1 }, (_, i) => `m${i}`));
		expect(await app.getAttribute('[data-testid="app"]', 'data-call')).toBe('connected');
		await app.context().close();
		await sender.context().close();
		await stranger.context().close();
	}, 60_000);
});
