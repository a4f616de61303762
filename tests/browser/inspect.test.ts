/**
 * /inspect in real Chromium against the production build: it draws every machine from its
 * definition, follows the same session actor as the call screen (the camera, a flip, a call
 * between two pages), and its event log shows and exports what happened.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { sessionMachine } from '$machines/session.machine';
import { photoMachine } from '$machines/photo.machine';
import { callMachine } from '$machines/call.machine';
import { safetyMachine } from '$machines/safety.machine';
import { chatMachine } from '$machines/chat.machine';
import { chartModel, collectMachines } from '$lib/inspector/model';
import { instrumentWebRtc, launch, phonePage, startServer, waitForState, type Served } from './harness';

// The call and photo machines (and the call's safety and chat) are imported on demand, not
// listed by the session's setup().
const models = collectMachines(sessionMachine, callMachine, photoMachine, safetyMachine, chatMachine).map(chartModel);

let server: Served;
let browser: Browser;

beforeAll(async () => {
	server = await startServer();
	browser = await launch();
});
afterAll(async () => {
	await browser?.close();
	await server?.close();
});

async function newPage(): Promise<Page> {
	const page = await phonePage(browser);
	await page.addInitScript(instrumentWebRtc);
	return page;
}

const activeNodes = (page: Page, machine: string) =>
	page
		.locator(`[data-testid="statechart"][data-machine="${machine}"] [data-active="true"]`)
		.evaluateAll((els) => els.map((el) => el.getAttribute('data-state-node')).sort());

/** Waits until the chart of `machine` shows exactly `paths` active. */
async function waitForActive(page: Page, machine: string, paths: string[], timeout = 15_000) {
	await page.waitForFunction(
		([id, wanted]) => {
			const nodes = document.querySelectorAll(`[data-testid="statechart"][data-machine="${id}"] [data-active="true"]`);
			const got = [...nodes].map((n) => n.getAttribute('data-state-node')).sort();
			return JSON.stringify(got) === JSON.stringify([...(wanted as string[])].sort());
		},
		[machine, paths] as const,
		{ timeout }
	);
}

/** Goes from the call screen to /inspect the way a user does: the in-app link. */
async function openInspector(page: Page) {
	await page.locator('[data-testid="inspect-link"]').click();
	await page.locator('[data-testid="statechart"]').first().waitFor();
}

describe('/inspect', () => {
	it('draws every machine with every state node and transition of its definition', async () => {
		const page = await newPage();
		try {
			await page.goto(`${server.url}/inspect`);
			await page.locator('[data-testid="statechart"]').first().waitFor();
			await page.locator('[data-testid="statechart"][data-machine="photo"]').waitFor();
			const ids = await page.locator('[data-testid="statechart"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-machine')));
			expect(ids.sort()).toEqual(models.map((m) => m.id).sort());
			expect(ids).toEqual(expect.arrayContaining(['session', 'permission', 'capture', 'signaling', 'call', 'ice']));
			for (const model of models) {
				const chart = page.locator(`[data-testid="statechart"][data-machine="${model.id}"]`);
				const nodes = await chart.locator('[data-state-node]').evaluateAll((els) => els.map((el) => el.getAttribute('data-state-node')));
				expect(nodes.sort(), model.id).toEqual(model.nodes.slice(1).map((n) => n.path).sort());
				expect(await chart.locator('[data-transition]').count(), model.id).toBe(model.edges.length);
			}
			// No call yet: the call and ice machines are drawn with nothing active.
			expect(await activeNodes(page, 'call')).toEqual([]);
			expect(await activeNodes(page, 'ice')).toEqual([]);
			// The session's own regions: no call yet, the call machine's code fetched once the camera
			// and the ID were ready (the chart itself imported it too), photo code not loaded.
			await expect.poll(() => activeNodes(page, 'session')).toEqual(['call', 'call.free', 'callCode', 'callCode.ready', 'photo', 'photo.absent']);
		} finally {
			await page.context().close();
		}
	});

	it("shows every state's and transition's description, which the call screen's download does not carry", async () => {
		const page = await newPage();
		try {
			// Every script the call screen loads on a first visit, camera and ID ready.
			const scripts: Promise<string>[] = [];
			page.on('response', (r) => {
				if (r.url().endsWith('.js')) scripts.push(r.text().catch(() => ''));
			});
			await page.goto(`${server.url}/`);
			await waitForState(page, 'signaling', 'open');
			await waitForState(page, 'capture', 'live');
			await page.waitForTimeout(1500); // the warm-up, once idle
			const shipped = (await Promise.all(scripts)).join('\n');
			const described = models.flatMap((m) => [...m.nodes, ...m.edges].filter((x) => x.description).map((x) => ({ id: m.id, x })));
			expect(described.length).toBeGreaterThan(100);
			// A description's text is nowhere in them (its first 40 characters).
			const leaked = described.filter(({ x }) => shipped.includes(x.description!.slice(0, 40)));
			expect(leaked.map(({ x }) => x.description)).toEqual([]);

			await page.goto(`${server.url}/inspect`);
			await page.locator('[data-testid="statechart"][data-machine="photo"]').waitFor();
			for (const model of models) {
				const chart = page.locator(`[data-testid="statechart"][data-machine="${model.id}"]`);
				const nodeText = await chart.locator('[data-state-node]').evaluateAll((els) =>
					Object.fromEntries(els.map((el) => [el.getAttribute('data-state-node'), [...el.querySelectorAll('text.desc')].map((t) => t.textContent).join(' ')]))
				);
				const edgeText = await chart.locator('[data-transition]').evaluateAll((els) =>
					Object.fromEntries(els.map((el) => [el.getAttribute('data-transition'), [...el.querySelectorAll('text.edesc')].map((t) => t.textContent).join(' ')]))
				);
				const words = (text: string | null) => (text ?? '').split(/\s+/).filter(Boolean).join(' ');
				for (const node of model.nodes.slice(1)) expect(words(nodeText[node.path]), `${model.id} ${node.path}`).toBe(words(node.description));
				for (const edge of model.edges) expect(words(edgeText[edge.key]), `${model.id} ${edge.key}`).toBe(words(edge.description));
			}
		} finally {
			await page.context().close();
		}
	});

	it('follows the camera, logs a flip made on the call screen, and keeps the session alive', async () => {
		const page = await newPage();
		try {
			await page.goto(`${server.url}/`);
			// Fake UI grants permission, so the camera starts by itself.
			await waitForState(page, 'capture', 'live');
			await page.locator('[data-testid="flip"]:not([disabled])').click();
			// The flip has happened once a second camera opened and capture is live again.
			await page.waitForFunction(() => (window as unknown as { __gum: MediaStreamTrack[] }).__gum.filter((t) => t.kind === 'video').length >= 2);
			await waitForState(page, 'capture', 'live');
			await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

			await openInspector(page);
			await waitForActive(page, 'capture', ['live', 'live.steady']);
			expect(await activeNodes(page, 'capture')).toEqual(['live', 'live.steady']);

			const log = page.locator('[data-testid="event-log"]');
			const flips = log.locator('[data-event="camera.flip"]');
			await expect.poll(() => flips.count()).toBe(1);
			expect(await log.locator('[data-machine="capture"][data-event="camera.start"]').count()).toBeGreaterThanOrEqual(1);
			expect(await flips.textContent()).toContain('live.steady → switching');
			// The last transition the capture machine took: the new camera opened.
			const last = await page
				.locator('[data-machine="capture"] [data-last="true"]')
				.evaluateAll((els) => els.map((el) => el.getAttribute('data-transition')));
			expect(last).toEqual([expect.stringMatching(/^switching(\.opening)?\|xstate\.done\.actor\./)]);

			// Tap an entry: the context after it, as JSON.
			await flips.locator('button').click();
			const context = JSON.parse((await flips.locator('pre').textContent()) ?? 'null');
			expect(context.stream).toBe('[MediaStream]');
			expect(context.devices.length).toBeGreaterThan(1);

			// Filtering the log by event type.
			const total = await log.locator(':scope > li').count();
			await page.getByRole('searchbox', { name: 'Filter events by type or state' }).fill('camera.flip');
			await expect.poll(() => log.locator(':scope > li').count()).toBe(1);
			expect(total).toBeGreaterThan(1);
			expect(await log.locator(':scope > li').getAttribute('data-event')).toBe('camera.flip');

			// In-app navigation: the same document, camera and session; no second camera start.
			expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
			await page.locator('[data-testid="back-link"]').click();
			await waitForState(page, 'capture', 'live');
			expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
			expect(await page.locator('[data-testid="camera-start"]').count()).toBe(0);
		} finally {
			await page.context().close();
		}
	});

	it('updates while open, and exports the log as a JSON file', async () => {
		// Without the fake UI, so that revoking the permission really ends the camera track.
		const real = await launch({ fakeUi: false });
		const context = await real.newContext({ viewport: { width: 390, height: 844 }, permissions: ['camera'] });
		const page = await phonePage(real, context);
		try {
			await page.goto(`${server.url}/`);
			await waitForState(page, 'capture', 'live');
			await openInspector(page);
			await waitForActive(page, 'capture', ['live', 'live.steady']);
			// The camera permission is revoked while the inspector is open: the live track ends,
			// and the chart and the log follow.
			await page.context().clearPermissions();
			await waitForActive(page, 'capture', ['failed']);
			await expect.poll(() => page.locator('[data-testid="event-log"] [data-event="camera.trackEnded"]').count()).toBe(1);

			const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-log"]').click()]);
			expect(download.suggestedFilename()).toMatch(/\.json$/);
			const file = await download.path();
			const data = JSON.parse(fs.readFileSync(file, 'utf8'));
			const types = (data.entries as { eventType: string; machine: string }[]).map((e) => `${e.machine}:${e.eventType}`);
			expect(types).toEqual(expect.arrayContaining(['capture:camera.start', 'capture:camera.trackEnded']));
		} finally {
			await real.close();
		}
	});

	it('shows a running call and its ICE machine, spawned by the session', async () => {
		const caller = await newPage();
		const callee = await newPage();
		try {
			await Promise.all([caller.goto(`${server.url}/`), callee.goto(`${server.url}/`)]);
			await Promise.all([waitForState(caller, 'signaling', 'open'), waitForState(callee, 'signaling', 'open')]);
			await Promise.all([waitForState(caller, 'capture', 'live'), waitForState(callee, 'capture', 'live')]);
			const calleeId = (await callee.locator('[data-testid="peer-id"]').textContent())?.trim() ?? '';
			expect(calleeId).not.toBe('');
			await caller.locator('[data-testid="dial-input"]').fill(calleeId);
			await caller.locator('[data-testid="dial"]').click();
			await waitForState(callee, 'call', 'ringing');
			await callee.locator('[data-testid="accept"]').click();
			await Promise.all([waitForState(caller, 'call', 'connected', 20_000), waitForState(callee, 'call', 'connected', 20_000)]);

			await openInspector(caller);
			await waitForActive(caller, 'call', ['connected']);
			const ice = await activeNodes(caller, 'ice');
			// Its two regions: the connection (iceConnectionState) and gathering.
			expect(ice).toContainEqual(expect.stringMatching(/^connection\.(connected|completed)$/));
			expect(ice).toContain('gathering.complete');
			expect(await caller.locator('[data-testid="event-log"] [data-event="call.dial"]').count()).toBe(1);
			// A call's stats samples and heartbeats change no state: listed, but folded away
			// until asked for, then shown with one row per run and its count.
			const log = caller.locator('[data-testid="event-log"]');
			await expect.poll(() => log.locator('[data-event="pc.stats"]').count(), { timeout: 10_000 }).toBeGreaterThan(2);
			expect(await log.locator('li[data-quiet]:visible').count()).toBe(0);
			expect(await log.locator('[data-event="call.dial"]').isVisible()).toBe(true);
			await caller.getByTestId('show-quiet').check();
			await expect.poll(() => log.locator('li[data-quiet]:visible').count()).toBeGreaterThan(0);
			await expect.poll(() => log.locator('li[data-event="pc.stats"]:visible .repeats').count()).toBeGreaterThan(0);
			await caller.locator('[data-testid="back-link"]').click();
			await waitForState(caller, 'call', 'connected');
		} finally {
			await caller.context().close();
			await callee.context().close();
		}
	});

	it('zooms and pans a chart by touch: pinch, sideways drag, and the buttons', async () => {
		const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
		const page = await context.newPage();
		try {
			await page.goto(`${server.url}/inspect`);
			const chart = page.locator('[data-testid="statechart"][data-machine="capture"]');
			const svg = chart.locator('.viewport > svg');
			const transform = async () => {
				const m = /translate\((-?[\d.]+)px, (-?[\d.]+)px\) scale\(([\d.]+)\)/.exec((await svg.getAttribute('style')) ?? '');
				return m ? { x: +m[1], y: +m[2], scale: +m[3] } : null;
			};
			expect(await transform()).toEqual({ x: 0, y: 0, scale: 1 });
			await chart.locator('.viewport').scrollIntoViewIfNeeded();
			const box = (await chart.locator('.viewport').boundingBox())!;
			const cdp = await context.newCDPSession(page);
			const cx = box.x + box.width / 2;
			// A tall chart is taller than the screen: touch within the part that is visible.
			const cy = Math.max(box.y, 0) + 120;
			const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: { x: number; y: number }[]) =>
				cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ ...p, id })) });

			// Two fingers spread from 60 px to 120 px apart: twice the size.
			await touch('touchStart', [{ x: cx - 30, y: cy }, { x: cx + 30, y: cy }]);
			for (let d = 35; d <= 60; d += 5) await touch('touchMove', [{ x: cx - d, y: cy }, { x: cx + d, y: cy }]);
			await touch('touchEnd', []);
			const pinched = (await transform())!;
			expect(pinched.scale).toBeCloseTo(2, 1);
			expect(await chart.locator('.zoom').textContent()).toBe('200%');

			// One finger sideways: the chart moves with it.
			await touch('touchStart', [{ x: cx, y: cy }]);
			for (let dx = 10; dx <= 60; dx += 10) await touch('touchMove', [{ x: cx - dx, y: cy }]);
			await touch('touchEnd', []);
			expect((await transform())!.x).toBeCloseTo(pinched.x - 60, 0);

			await page.getByRole('button', { name: 'Fit capture to the screen' }).click();
			expect(await transform()).toEqual({ x: 0, y: 0, scale: 1 });
			await page.getByRole('button', { name: 'Zoom in on capture' }).click();
			expect((await transform())!.scale).toBeCloseTo(1.25, 2);
		} finally {
			await context.close();
		}
	});

	it('shows and exports neither the ID token nor the TURN credentials of ICE_SERVERS', async () => {
		// A TURN server on loopback that nothing listens on: no call is made, so it is never asked.
		const turn = { urls: 'turn:127.0.0.1:3478', username: 'turn-user-1700000000', credential: 'turn-pass-9b1f3c7e' };
		const withTurn = await startServer({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }, turn] });
		const page = await newPage();
		try {
			await page.goto(`${withTurn.url}/`);
			await waitForState(page, 'signaling', 'open');
			const token = await page.evaluate(() => JSON.parse(localStorage.getItem('camcall.identity') ?? '{}').token as string);
			expect(token).toMatch(/^\w{8,}$/);
			// The app did get the credentials (it remembers the config): there is something to hide.
			expect(await page.evaluate(() => localStorage.getItem('camcall.signaling'))).toContain(turn.credential);
			const secrets = [token, turn.username, turn.credential];

			await openInspector(page);
			const log = page.locator('[data-testid="event-log"]');
			await expect.poll(() => log.locator('[data-machine="signaling"][data-event="peer.opened"]').count()).toBe(1);
			// The whole page, markup and attributes included, with each log entry opened in turn
			// (one shows its context at a time).
			const pages = await page.evaluate(async () => {
				const html = [document.documentElement.outerHTML + document.body.innerText];
				const buttons = [...document.querySelectorAll<HTMLButtonElement>('[data-testid="event-log"] > li > button')];
				for (const button of buttons) {
					button.click();
					await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
					html.push(document.documentElement.outerHTML + document.body.innerText);
				}
				return html;
			});
			expect(pages.length).toBeGreaterThan(10);
			const shown = pages.join('\n');
			const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-log"]').click()]);
			const exported = fs.readFileSync(await download.path(), 'utf8');
			const leaks = secrets.flatMap((secret) => [
				...(shown.includes(secret) ? [`${secret} on the page`] : []),
				...(exported.includes(secret) ? [`${secret} in the export`] : [])
			]);
			expect(leaks).toEqual([]);
			// Redacted where shown, not dropped: the identity and the ICE servers are there.
			for (const text of [shown, exported]) {
				expect(text.includes('"token": "[redacted]"')).toBe(true);
				expect(text.includes('"credential": "[redacted]"')).toBe(true);
				expect(text.includes('turn:127.0.0.1:3478')).toBe(true);
			}
		} finally {
			await page.context().close();
			await withTurn.close();
		}
	});

	it('works offline once the service worker is installed', async () => {
		const page = await newPage();
		try {
			await page.goto(`${server.url}/`);
			await waitForState(page, 'capture', 'live');
			await page.waitForFunction(() => !!navigator.serviceWorker?.controller, null, { timeout: 20_000 });
			await page.context().setOffline(true);
			await page.goto(`${server.url}/inspect`);
			await page.locator('[data-testid="statechart"]').first().waitFor();
			await page.locator('[data-testid="statechart"][data-machine="photo"]').waitFor();
			expect(await page.locator('[data-testid="statechart"]').count()).toBe(models.length);
			await waitForActive(page, 'capture', ['live', 'live.steady']);
			expect(await page.locator('[data-testid="event-log"] [data-event="camera.start"]').count()).toBeGreaterThanOrEqual(1);
		} finally {
			await page.context().close();
		}
	});
});
