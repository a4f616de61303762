/**
 * `npm run bench`: the app against a bare PeerJS page, in the same run, alternating, on the
 * embedded PeerServer over loopback with Chromium's fake cameras. Prints medians, p90 and the
 * ratio app/bare with a 95 % bootstrap interval over the alternating pairs. Not part of `npm test`: speed is measured here, never asserted in tests.
 *
 *   dial → far side's first remote frame   (requestVideoFrameCallback on the callee), once the
 *     moment both pages are registered and once PAUSE_MS after both are ready
 *   flip → far side's first frame of the new camera (and the offers it took: must be 0)
 *   page load → registered with the PeerServer, and within it PeerJS's socket → open
 *   repeat visit (the app from its service worker's cache) → camera's first frame, → registered
 *   soak: 50 dial/hang-up cycles; open pcs, live call tracks, JS heap growth after GC
 *   sizes: first-load and before-call JS (gzip), from the build
 *
 * Env: RUNS (default 20), FLIPS (default RUNS), SOAK (default 50), PAUSE_MS (default 1500: the
 * pause before the second dial of each run); BENCH_TRACE=1 prints each
 * dial's timeline: the callee's ICE and tracks, and every step of both sides (getUserMedia,
 * offer/answer calls, signaling messages, the call state shown); BENCH_RAW=1 every sample.
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { instrumentWebRtc, launch, root, startServer, type Served } from '../browser/harness';

const RUNS = Number(process.env.RUNS ?? 20);
const SOAK = Number(process.env.SOAK ?? 50);
const FLIPS = Number(process.env.FLIPS ?? RUNS);
const PAUSE_MS = Number(process.env.PAUSE_MS ?? 1500);

interface Client {
	name: 'app' | 'bare';
	path: string;
	sel: Record<'peerId' | 'dialInput' | 'dial' | 'accept' | 'hangup' | 'flip' | 'remote', string>;
	/** Current call state: the app's data-call, the bare page's body data-call. */
	callState(page: Page): Promise<string>;
	signalingOpen(page: Page): Promise<boolean>;
}

const appClient: Client = {
	name: 'app',
	path: '/',
	sel: {
		peerId: '[data-testid=peer-id]',
		dialInput: '[data-testid=dial-input]',
		dial: '[data-testid=dial]',
		accept: '[data-testid=accept]',
		hangup: '[data-testid=hangup]',
		flip: '[data-testid=flip]',
		remote: '[data-testid=remote-video]'
	},
	callState: (p) => p.evaluate(() => document.querySelector('[data-testid=app]')?.getAttribute('data-call') ?? ''),
	signalingOpen: (p) => p.evaluate(() => document.querySelector('[data-testid=app]')?.getAttribute('data-signaling') === 'open')
};

const bareClient: Client = {
	name: 'bare',
	path: '/bench/',
	sel: {
		peerId: '#peer-id',
		dialInput: '#dial-input',
		dial: '#dial',
		accept: '#accept',
		hangup: '#hangup',
		flip: '#flip',
		remote: '#remote-video'
	},
	callState: (p) => p.evaluate(() => document.body.dataset.call ?? ''),
	signalingOpen: (p) => p.evaluate(() => document.body.dataset.signaling === 'open')
};

async function until(check: () => Promise<boolean>, timeout = 15_000, what = 'condition'): Promise<void> {
	const end = Date.now() + timeout;
	while (Date.now() < end) {
		if (await check()) return;
		await new Promise((r) => setTimeout(r, 10));
	}
	throw new Error(`timed out waiting for ${what}`);
}

async function openClient(browser: Browser, server: Served, client: Client): Promise<Page> {
	const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
	// tsx (esbuild) names functions with a `__name` helper that page.evaluate must find.
	await context.addInitScript({ content: 'window.__name = (f) => f;' });
	await context.addInitScript(instrumentWebRtc);
	await context.addInitScript(watchRemoteFrames);
	await context.addInitScript(watchRegistration);
	if (process.env.BENCH_TRACE) await context.addInitScript(traceSteps);
	const page = await context.newPage();
	await page.goto(server.url + client.path);
	// Registration: navigation start → registered with the PeerServer, polled in the page.
	await page.evaluate(
		(sel) =>
			new Promise<void>((resolve) => {
				const w = window as unknown as { __registeredAt?: number };
				const open = () =>
					sel === 'app'
						? document.querySelector('[data-testid=app]')?.getAttribute('data-signaling') === 'open'
						: document.body.dataset.signaling === 'open';
				const tick = () => {
					if (open()) {
						w.__registeredAt ??= performance.now();
						return resolve();
					}
					requestAnimationFrame(tick);
				};
				tick();
			}),
		client.name
	);
	return page;
}

/**
 * Init script: every remote video track, in any pc, also plays in a muted offscreen video whose
 * first frame time is recorded. Both clients are measured by the same probe, independent of how
 * each renders its own <video> (audio/video sync and layout differ and are not the question).
 */
const watchRemoteFrames = () => {
	const w = window as unknown as { __remoteFrames: number[]; __probes: HTMLVideoElement[] };
	w.__remoteFrames = [];
	w.__probes = [];
	const Native = window.RTCPeerConnection;
	class Probed extends Native {
		constructor(config?: RTCConfiguration) {
			super(config);
			this.addEventListener('iceconnectionstatechange', () => ((window as unknown as { __ice: [string, number][] }).__ice ??= []).push([this.iceConnectionState, Date.now()]));
			this.addEventListener('track', (e) => {
				((window as unknown as { __ice: [string, number][] }).__ice ??= []).push(['track-' + e.track.kind, Date.now()]);
				if (e.track.kind !== 'video') return;
				const v = document.createElement('video');
				v.muted = true;
				v.srcObject = new MediaStream([e.track]);
				w.__probes.push(v);
				v.requestVideoFrameCallback(() => w.__remoteFrames.push(Date.now()));
				void v.play().catch(() => {});
			});
		}
	}
	window.RTCPeerConnection = Probed as typeof RTCPeerConnection;
};

/**
 * Init script: PeerJS's own registration, the same probe for both clients: from the moment its
 * WebSocket is made (with an ID in hand: the bare page's PeerJS fetched one just before, the
 * app's first visit asked for it while the page parsed) until the server's OPEN message.
 */
const watchRegistration = () => {
	const w = window as unknown as { __peerNewAt?: number; __peerOpenAt?: number };
	const NativeSocket = window.WebSocket;
	class Probed extends NativeSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols);
			w.__peerNewAt ??= performance.now();
			this.addEventListener('message', (e) => {
				if (typeof e.data === 'string' && e.data.includes('"OPEN"')) w.__peerOpenAt ??= performance.now();
			});
		}
	}
	window.WebSocket = Probed as typeof WebSocket;
};

/**
 * Init script (BENCH_TRACE=1): each step of a call that both clients take, as [label, epoch ms]
 * in `__steps`: getUserMedia asked and answered, the pc's offer/answer calls, the signaling
 * messages sent and received, and the page's call state changing (the app's data-call, the
 * bare page's body data-call).
 */
const traceSteps = () => {
	const w = window as unknown as { __steps: [string, number][] };
	w.__steps = [];
	const note = (label: string) => w.__steps.push([label, Date.now()]);
	const gum = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
	if (gum) {
		navigator.mediaDevices.getUserMedia = async (c) => {
			const what = c?.audio && !c?.video ? 'mic' : c?.audio ? 'cam+mic' : 'cam';
			note(`gum ${what}`);
			const stream = await gum(c);
			note(`gum ${what} ok`);
			return stream;
		};
	}
	const proto = RTCPeerConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
	for (const name of ['createOffer', 'createAnswer', 'setLocalDescription', 'setRemoteDescription']) {
		const native = proto[name];
		proto[name] = function (this: RTCPeerConnection, ...args: unknown[]) {
			const media = this.getTransceivers().length > 0 ? '' : ' (data)';
			note(name + media);
			const result = native.apply(this, args);
			void result.then(() => note(name + media + ' ok'), () => note(name + media + ' failed'));
			return result;
		};
	}
	const send = WebSocket.prototype.send;
	WebSocket.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0]) {
		const type = typeof data === 'string' ? /"type":"([A-Z]+)"/.exec(data)?.[1] : null;
		if (type && type !== 'HEARTBEAT' && type !== 'CANDIDATE') note(`ws send ${type}`);
		return send.call(this, data);
	};
	const Socket = window.WebSocket;
	window.WebSocket = class extends Socket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols);
			this.addEventListener('message', (e) => {
				const type = typeof e.data === 'string' ? /"type":"([A-Z]+)"/.exec(e.data)?.[1] : null;
				if (type && type !== 'CANDIDATE') note(`ws got ${type}`);
			});
		}
	} as typeof WebSocket;
	new MutationObserver((records) => {
		for (const r of records) {
			const el = r.target as HTMLElement;
			const call = el.getAttribute('data-call');
			if (call && call !== r.oldValue) note(`call ${call}`);
		}
	}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-call'], attributeOldValue: true });
};

/** The traced steps of a page since the last call, in ms after `t0`. */
const takeSteps = async (page: Page, t0: number) =>
	(await page.evaluate(() => (window as unknown as { __steps?: [string, number][] }).__steps?.splice(0) ?? [])).map(([label, t]) => `${t - t0} ${label}`).join(', ');

/** Epoch ms of the first remote video frame decoded after `count` frames were recorded. */
async function firstRemoteFrame(page: Page, count: number, timeout = 15_000): Promise<number> {
	let t = 0;
	await until(async () => {
		t = await page.evaluate((n) => (window as unknown as { __remoteFrames: number[] }).__remoteFrames[n] ?? 0, count);
		return t > 0;
	}, timeout, 'remote frame');
	return t;
}

const frameCount = (page: Page) =>
	page.evaluate(() => {
		const w = window as unknown as { __remoteFrames: number[]; __probes: HTMLVideoElement[] };
		// Old probes hold ended tracks; let them go.
		w.__probes.splice(0).forEach((v) => (v.srcObject = null));
		return w.__remoteFrames.length;
	});

/** Clicks in the page and returns the epoch ms just before the click. */
function clickAt(page: Page, selector: string): Promise<number> {
	return page.evaluate((sel) => {
		const t = Date.now();
		(document.querySelector(sel) as HTMLElement).click();
		return t;
	}, selector);
}

/** Taps `selector` in the first frame it is visible; returns the epoch ms of the tap. */
function tapWhenShown(page: Page, selector: string, timeout = 10_000): Promise<number> {
	return page.evaluate(
		([sel, ms]) =>
			new Promise<number>((resolve, reject) => {
				const end = performance.now() + (ms as number);
				const tick = () => {
					const el = document.querySelector(sel as string) as HTMLElement | null;
					if (el?.checkVisibility()) {
						const t = Date.now();
						el.click();
						return resolve(t);
					}
					if (performance.now() > end) return reject(new Error(`${sel} never showed`));
					requestAnimationFrame(tick);
				};
				tick();
			}),
		[selector, timeout] as const
	);
}

/** Until the page's own camera preview is live. */
async function cameraLive(page: Page, client: Client): Promise<void> {
	const selector = client.name === 'app' ? '[data-testid=local-video]' : '#local-video';
	await until(() => page.evaluate((sel) => !!(document.querySelector(sel) as HTMLVideoElement | null)?.srcObject, selector), 10_000, 'camera');
}

async function dialOnce(client: Client, a: Page, b: Page, bId: string): Promise<number> {
	await a.fill(client.sel.dialInput, bId);
	if (process.env.BENCH_TRACE) for (const p of [a, b]) await takeSteps(p, 0);
	const before = await frameCount(b);
	const t0 = await clickAt(a, client.sel.dial);
	await until(async () => (await client.callState(b)) === 'ringing', 10_000, 'ringing');
	const tr = Date.now();
	// A person taps Accept once the sheet shows (the app's loads with the first ring): watched in
	// the page, frame by frame. Playwright's own waitForSelector polls at 20, 100, 100, then
	// 500 ms, so a button that appears a moment after the ringing state (the app's) was tapped
	// up to half a second later than one already there (the bare page's).
	const ta = await tapWhenShown(b, client.sel.accept);
	const t1 = await firstRemoteFrame(b, before);
	if (process.env.BENCH_TRACE) console.log(client.name, 'ringing seen', tr - t0, 'accept', ta - t0, 'frame', t1 - t0, JSON.stringify(await b.evaluate(() => ((window as unknown as { __ice: [string, number][] }).__ice ?? []).splice(0))).replace(/\d{13}/g, (m) => String(Number(m) - t0)));
	await until(async () => (await client.callState(a)) === 'connected', 10_000, 'connected');
	if (process.env.BENCH_TRACE) console.log(`  caller: ${await takeSteps(a, t0)}\n  callee: ${await takeSteps(b, t0)}`);
	return t1 - t0;
}

async function hangUp(client: Client, a: Page, b: Page) {
	await clickAt(a, client.sel.hangup);
	await until(async () => !['connected', 'calling', 'connecting'].includes(await client.callState(b)), 10_000, 'far hang-up');
	await until(async () => !['connected', 'calling', 'connecting'].includes(await client.callState(a)), 10_000, 'hang-up');
	// Let both sides finish tearing down (pcs, data channels) before the next dial, as a person
	// would; back-to-back redials within milliseconds measured teardown, not call setup.
	await a.waitForTimeout(1000);
}

/**
 * Epoch ms of the far side's first frame from the new camera. Both the app and the bare page
 * stop the old camera before opening the next (Android refuses two at once), so the far side's
 * frames pause: the first frame after the flip that ends a gap longer than 2 typical frame
 * intervals (measured just before the flip) is the new camera's. Chromium's fake cameras all
 * paint the same pattern, so pixels cannot tell them apart.
 */
function firstFrameAfterGap(page: Page, selector: string, timeout = 10_000): Promise<number> {
	return page.evaluate(
		([sel, ms]) =>
			new Promise<number>((resolve, reject) => {
				const v = document.querySelector(sel as string) as HTMLVideoElement;
				const w = window as unknown as { __flipAt?: number };
				const start = performance.now();
				const times: number[] = [];
				const onFrame = () => {
					const t = Date.now();
					const flipAt = w.__flipAt;
					if (flipAt === undefined) times.push(t);
					else if (t > flipAt) {
						const intervals = times.slice(-11).map((x, i, a) => (i ? x - a[i - 1] : 0)).slice(1).sort((x, y) => x - y);
						const typical = intervals[Math.floor(intervals.length / 2)] ?? 50;
						if (t - times[times.length - 1] > 2 * typical) return resolve(t);
						times.push(t);
					}
					if (performance.now() - start > (ms as number)) return reject(new Error('no new-camera frame'));
					v.requestVideoFrameCallback(onFrame);
				};
				v.requestVideoFrameCallback(onFrame);
			}),
		[selector, timeout] as const
	);
}

const offers = (p: Page) => p.evaluate(() => (window as unknown as { __offers: number }).__offers);
const videoLabel = (p: Page, client: Client) =>
	p.evaluate(
		(sel) => ((document.querySelector(sel) as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0].label,
		client.name === 'app' ? '[data-testid=local-video]' : '#local-video'
	);

async function flipTo(client: Client, page: Page, label: string) {
	for (let i = 0; i < 3 && (await videoLabel(page, client)) !== label; i++) {
		const before = await videoLabel(page, client);
		await clickAt(page, client.sel.flip);
		await until(async () => (await videoLabel(page, client).catch(() => before)) !== before, 5000, 'flip');
	}
}

/** One measured flip: fake_device_2 → fake_device_0. fake_device_1 is a depth camera whose
 * frames do not reach the far side (FACTS.md), so it is only passed through, unmeasured. */
async function flipOnce(client: Client, a: Page, b: Page): Promise<number> {
	await flipTo(client, a, 'fake_device_2');
	await a.waitForTimeout(1500);
	await b.evaluate(() => delete (window as unknown as { __flipAt?: number }).__flipAt);
	const fresh = firstFrameAfterGap(b, client.sel.remote);
	await b.waitForTimeout(1200);
	const t0 = await clickAt(a, client.sel.flip);
	await b.evaluate((t) => ((window as unknown as { __flipAt?: number }).__flipAt = t), t0);
	// A new camera that delivers its first frame within two frame intervals leaves no gap to
	// see: that run is counted as undetected rather than guessed.
	const t1 = await fresh.catch(() => NaN);
	return t1 - t0;
}

function stats(values: number[]) {
	const s = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
	const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
	return { n: s.length, median: q(0.5), p90: q(0.9) };
}

const fmt = (n: number) => n.toFixed(0).padStart(6);

/** A seeded PRNG (mulberry32): the same samples give the same interval on every run. */
function prng(seed: number) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/**
 * How sure the ratio of medians is: a 95 % bootstrap interval over the alternating pairs (run i
 * of the app with run i of the bare page, resampled together, 2000 times), so a drift that hits
 * both sides of a pair does not widen it. Pairs with a missing sample are left out.
 */
export function ratioInterval(app: number[], bare: number[], resamples = 2000): [number, number] {
	const pairs = app.map((a, i) => [a, bare[i]] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
	if (pairs.length < 3) return [NaN, NaN];
	const random = prng(0x5eed);
	const ratios: number[] = [];
	for (let r = 0; r < resamples; r++) {
		const xs: number[] = [];
		const ys: number[] = [];
		for (let i = 0; i < pairs.length; i++) {
			const [a, b] = pairs[Math.floor(random() * pairs.length)];
			xs.push(a);
			ys.push(b);
		}
		ratios.push(stats(xs).median / stats(ys).median);
	}
	ratios.sort((x, y) => x - y);
	return [ratios[Math.floor(0.025 * (resamples - 1))], ratios[Math.ceil(0.975 * (resamples - 1))]];
}

function row(label: string, app: number[], bare: number[]) {
	const x = stats(app);
	const y = stats(bare);
	const ratio = x.median / y.median;
	const [lo, hi] = ratioInterval(app, bare);
	if (process.env.BENCH_RAW) console.log(label, 'app', app.map(Math.round).join(' '), '| bare', bare.map(Math.round).join(' '));
	console.log(
		`${label.padEnd(34)} app median ${fmt(x.median)} p90 ${fmt(x.p90)} | bare median ${fmt(y.median)} p90 ${fmt(y.p90)} | ratio ${ratio.toFixed(2)} [95 % CI ${lo.toFixed(2)}–${hi.toFixed(2)}] (n=${x.n}/${y.n} of ${app.length}/${bare.length})`
	);
	return { app: x, bare: y, ratio, interval: [lo, hi] as const };
}

/**
 * In the page, from navigation start (ms): the first frame of the local camera painted, and
 * registered with the PeerServer. The same probe for both clients.
 */
function visitTimes(page: Page, client: Client): Promise<{ camera: number; registered: number }> {
	return page.evaluate(
		([local, name]) =>
			new Promise<{ camera: number; registered: number }>((resolve) => {
				let camera = 0;
				let registered = 0;
				let watching: HTMLVideoElement | null = null;
				const tick = () => {
					const open =
						name === 'app'
							? document.querySelector('[data-testid=app]')?.getAttribute('data-signaling') === 'open'
							: document.body.dataset.signaling === 'open';
					if (open && !registered) registered = performance.now();
					const video = document.querySelector(local) as HTMLVideoElement | null;
					if (video?.srcObject && video !== watching) {
						watching = video;
						video.requestVideoFrameCallback(() => (camera ||= performance.now()));
					}
					if (camera && registered) return resolve({ camera, registered });
					requestAnimationFrame(tick);
				};
				tick();
			}),
		[client.name === 'app' ? '[data-testid=local-video]' : '#local-video', client.name] as const
	);
}

/**
 * Repeat visits: one page per client that has been opened once (the app's service worker
 * installed and in control, the bare page's files in the HTTP cache, the ID saved), then
 * navigated to again `runs` times, alternating; each visit's camera and registration times.
 */
async function repeatVisits(browser: Browser, server: Served, clients: Client[], runs: number) {
	const times: Record<string, { camera: number[]; registered: number[] }> = {};
	const pages = new Map<string, Page>();
	for (const c of clients) {
		times[c.name] = { camera: [], registered: [] };
		const page = await openClient(browser, server, c);
		if (c.name === 'app') {
			await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 30_000 });
		}
		pages.set(c.name, page);
	}
	for (let i = 0; i < runs + 1; i++) {
		for (const c of clients) {
			const page = pages.get(c.name)!;
			await page.goto(server.url + c.path);
			const t = await visitTimes(page, c);
			// The first repeat warms the caches the way a second visit would; not counted.
			if (i > 0) {
				times[c.name].camera.push(t.camera);
				times[c.name].registered.push(t.registered);
			}
		}
	}
	for (const page of pages.values()) await page.context().close();
	return times;
}

async function heapUsed(page: Page): Promise<number> {
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('HeapProfiler.collectGarbage');
	await cdp.send('HeapProfiler.collectGarbage');
	const { usedSize } = await cdp.send('Runtime.getHeapUsage');
	await cdp.detach();
	return usedSize;
}

async function main() {
	const server = await startServer({
		// Hundreds of page loads from one address in minutes: a load, not a person.
		rateLimit: false,
		extraStatic: {
			'/bench/peerjs': path.join(root, 'node_modules/peerjs/dist'),
			'/bench': path.join(root, 'tests/bench/bare')
		}
	});
	// Four pages run side by side: keep every one rendering like a foreground tab, or frame
	// callbacks in whichever page Chromium deems hidden are throttled and the timings lie.
	const browser = await launch({
		deviceCount: 3,
		args: [
			'--enable-precise-memory-info',
			'--disable-renderer-backgrounding',
			'--disable-background-timer-throttling',
			'--disable-backgrounding-occluded-windows'
		]
	});
	console.log(`bench: ${RUNS} runs each, alternating app/bare; soak ${SOAK} cycles; ${new Date().toISOString()}`);
	try {
		const clients = process.env.BENCH_BARE_FIRST ? [bareClient, appClient] : [appClient, bareClient];
		// Dial: a fresh pair of pages per run, so every run is a first call after page load
		// (redialing within a second of a hang-up measured the bare page's teardown instead).
		const reg: Record<string, number[]> = { app: [], bare: [] };
		const peerOpen: Record<string, number[]> = { app: [], bare: [] };
		const dial: Record<string, number[]> = { app: [], bare: [] };
		const dialLater: Record<string, number[]> = { app: [], bare: [] };
		for (let i = 0; i < RUNS + 1; i++) {
			// A dial the moment both pages are registered, and one a person could make: both
			// pages ready (camera live, ID shown) and PAUSE_MS later, the time it takes to paste
			// or scan an ID. The app loads what a call needs in that time; the bare page has
			// nothing to load.
			for (const c of clients) {
				const a = await openClient(browser, server, c);
				const b = await openClient(browser, server, c);
				const bId = ((await b.textContent(c.sel.peerId)) ?? '').trim();
				await cameraLive(a, c);
				await cameraLive(b, c);
				await a.waitForTimeout(PAUSE_MS);
				const ms = await dialOnce(c, a, b, bId);
				if (i > 0) dialLater[c.name].push(ms);
				await a.context().close();
				await b.context().close();
			}
			for (const c of clients) {
				const a = await openClient(browser, server, c);
				const b = await openClient(browser, server, c);
				const bId = ((await b.textContent(c.sel.peerId)) ?? '').trim();
				const ms = await dialOnce(c, a, b, bId);
				// The first round warms up the browser (codecs, caches) and is not counted.
				if (i > 0) {
					dial[c.name].push(ms);
					reg[c.name].push(await a.evaluate(() => (window as unknown as { __registeredAt: number }).__registeredAt));
					peerOpen[c.name].push(
						await a.evaluate(() => {
							const w = window as unknown as { __peerNewAt?: number; __peerOpenAt?: number };
							return (w.__peerOpenAt ?? NaN) - (w.__peerNewAt ?? NaN);
						})
					);
				}
				await a.context().close();
				await b.context().close();
			}
		}

		const repeat = await repeatVisits(browser, server, clients, RUNS);

		const pairs = new Map<string, { a: Page; b: Page; bId: string }>();
		for (const c of clients) {
			const a = await openClient(browser, server, c);
			const b = await openClient(browser, server, c);
			const bId = ((await b.textContent(c.sel.peerId)) ?? '').trim();
			pairs.set(c.name, { a, b, bId });
		}

		const flip: Record<string, number[]> = { app: [], bare: [] };
		const extraOffers: Record<string, number> = {};
		for (const c of clients) {
			const { a, b, bId } = pairs.get(c.name)!;
			await dialOnce(c, a, b, bId);
			extraOffers[c.name] = -((await offers(a)) + (await offers(b)));
		}
		for (let i = 0; i < FLIPS; i++) {
			for (const c of clients) {
				const { a, b } = pairs.get(c.name)!;
				flip[c.name].push(await flipOnce(c, a, b));
			}
		}
		for (const c of clients) {
			const { a, b } = pairs.get(c.name)!;
			extraOffers[c.name] += (await offers(a)) + (await offers(b));
			await hangUp(c, a, b);
		}

		console.log('\nmilliseconds:');
		const results = {
			registration: row('page load → registered', reg.app, reg.bare),
			peerOpen: row('PeerJS socket → open', peerOpen.app, peerOpen.bare),
			dial: row('dial at once → far first frame', dial.app, dial.bare),
			dialLater: row(`dial ${PAUSE_MS / 1000} s after ready → far frame`, dialLater.app, dialLater.bare),
			repeatCamera: row('repeat visit → camera live (frame)', repeat.app.camera, repeat.bare.camera),
			repeatRegistered: row('repeat visit → registered', repeat.app.registered, repeat.bare.registered),
			flip: FLIPS ? row('flip → far first new-camera frame', flip.app, flip.bare) : null
		};
		if (FLIPS) console.log(`offers during ${FLIPS * 3} flips per side: app ${extraOffers.app}, bare ${extraOffers.bare}`);

		// Soak: the app only, the pair above.
		const { a, b, bId } = pairs.get('app')!;
		const heapBefore = await heapUsed(a);
		const started = Date.now();
		for (let i = 0; i < SOAK; i++) {
			await dialOnce(appClient, a, b, bId);
			await hangUp(appClient, a, b);
		}
		await a.waitForTimeout(4500); // control connections close within 4 s
		const heapAfter = await heapUsed(a);
		const leftovers = async (p: Page) =>
			p.evaluate(() => {
				const w = window as unknown as { __pcs: RTCPeerConnection[]; __gum: MediaStreamTrack[] };
				return {
					pcs: w.__pcs.length,
					openPcs: w.__pcs.filter((pc) => pc.signalingState !== 'closed').length,
					liveMic: w.__gum.filter((t) => t.kind === 'audio' && t.readyState === 'live').length,
					liveCamera: w.__gum.filter((t) => t.kind === 'video' && t.readyState === 'live').length
				};
			});
		const la = await leftovers(a);
		const lb = await leftovers(b);
		console.log(`\nsoak: ${SOAK} dial/hang-up cycles in ${((Date.now() - started) / 1000).toFixed(1)} s`);
		console.log(`  caller: ${la.pcs} pcs made, ${la.openPcs} open; live mic tracks ${la.liveMic}; live camera tracks ${la.liveCamera} (the preview)`);
		console.log(`  callee: ${lb.pcs} pcs made, ${lb.openPcs} open; live mic tracks ${lb.liveMic}; live camera tracks ${lb.liveCamera} (the preview)`);
		console.log(`  caller JS heap after GC: ${(heapBefore / 1e6).toFixed(2)} MB → ${(heapAfter / 1e6).toFixed(2)} MB (growth ${((heapAfter - heapBefore) / 1e6).toFixed(2)} MB)`);

		const size = spawnSync(process.execPath, [path.join(root, 'tests/bench/size.js')], { encoding: 'utf8' });
		if (size.status !== null) console.log(`\nsizes:\n${size.stdout.trim()}`);
		void results;
	} finally {
		await browser.close();
		await server.close();
	}
}

await main();
