// `npm run size`: the JavaScript behind DESIGN.md's budgets, measured on the production build.
//
//   first load   what build/index.html loads before any dynamic import runs: its modulepreload
//                links, its module scripts and the imports of its inline boot script, plus
//                every static import of those, transitively.            goal 60 KB
//   before call  everything the call screen has loaded by the time a call starts: the first
//                load, the route node for `/` (the router imports it at once), the root
//                layout and error nodes (SvelteKit's client imports both eagerly), and every
//                dynamic import reachable from them (PeerJS, workbox-window, …) except the ones
//                listed in ON_DEMAND, which wait for a tap.             goal 80 KB
//
// DESIGN.md's budgets are bytes on the wire as `npm start` serves them: brotli, precompressed at
// build time (src/server/precompress.js, quality 11), ≤ 100 KB each (goals 60 / 80); the
// browser test tests/browser/wire.test.ts measures the real transfer, headers and HTML
// included. This script shows the JavaScript's share, brotli and gzip per file: a guide to
// where the bytes are. KB is 1000 bytes.
// Counting is conservative: a new dynamic import is counted before the call unless it is
// declared on demand here, and tests/browser/pwa.test.ts checks that the browser really loads
// nothing outside the before-call set while it waits to dial.
// Exits 1 when the JavaScript alone (brotli) passes the 100 KB budget.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { init, parse } from 'es-module-lexer';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Brotli bytes: DESIGN.md's goals, and the budget nothing may pass. */
export const BUDGETS = { firstLoad: 60_000, beforeCall: 80_000, limit: 100_000 };

/**
 * Modules loaded only on a tap, never while the call screen waits: matched against the source
 * module names in Vite's build manifest.
 */
export const ON_DEMAND = [
	{ module: /node_modules\/qrcode\//, why: 'QR code: drawn when the user opens it' },
	{
		module: /machines\/(photo\.machine|actors\/photo(-io|-offer|-trash)?)\.ts|src\/lib\/components\/(Photo(Transfer|Panel)|LastPhoto)\.svelte/,
		why: 'photos: the first shutter tap, the gallery, or a photo offer during a call'
	},
	{ module: /src\/lib\/components\/InfoSheet\.svelte/, why: 'camera and call details: the info button' },
	{ module: /src\/lib\/components\/IdEditor\.svelte/, why: 'choosing your own ID: the Change button' },
	{ module: /src\/lib\/components\/CameraBlockedHelp\.svelte/, why: 'steps to unblock the camera: only when it is blocked' },
	{ module: /src\/lib\/components\/InstallHint\.svelte/, why: 'how to install, and why: only in iOS Safari before the app is installed' },
	{
		module: /machines\/actors\/(safety-code|verified|chat)\.ts|src\/lib\/components\/(SafetyCode|Chat)\.svelte/,
		why: 'a call that connects: its safety code, the verified codes and the chat'
	},
	{
		module: /src\/lib\/components\/ScanSheet\.svelte|machines\/(scan\.machine|actors\/scan)\.ts|node_modules\/qr\//,
		why: 'QR scanner: its machine, its view and (without a native BarcodeDetector) the decoder, on the scan button'
	},
	{
		module: /src\/lib\/components\/CameraControls\.svelte/,
		why: 'zoom and torch: only once the live camera reports them (most cameras do not)'
	}
];

/**
 * Loaded once the camera and the ID are ready and the page is idle, ahead of any call, so the
 * first dial or ring does not wait for them (the session's `callCode.ready`, src/routes/
 * +layout.svelte). Not part of what a first visit waits for (tests/browser/wire.test.ts), and
 * the service worker precaches them a moment later anyway: counted apart, as "warm-up".
 */
export const WARM_UP = [
	{
		module: /machines\/(safety\.machine|chat\.machine|actors\/(certificate|alert-io|microphone-io|device-io))\.ts|src\/lib\/components\/(IncomingCall|CallScreen)\.svelte/,
		why: "what a first call or ring would wait for: this device's certificate, the safety code and chat machines, the ring, the microphone's work, the screen lock and system controls, the incoming sheet and the call layer"
	}
];

/**
 * @typedef {object} Part
 * @property {string} url      absolute URL path, e.g. /_app/immutable/chunks/x.js
 * @property {number} bytes
 * @property {number} gzip
 * @property {number} brotli
 * @property {string} label    the source module(s) that produced it, where known
 */
/**
 * @typedef {object} Measure
 * @property {Part[]} parts
 * @property {number} gzip
 * @property {number} brotli
 * @property {number} bytes
 */

/** @param {string} buildDir @param {string} url */
function fileOf(buildDir, url) {
	return path.join(buildDir, url.replace(/^\//, ''));
}

/** @param {string} from absolute URL path of the importing file @param {string} specifier */
function resolveUrl(from, specifier) {
	return new URL(specifier, `http://app${from}`).pathname;
}

/**
 * Chunk URL → source module names, from the Vite manifest SvelteKit writes beside its output.
 * Labels only; and the ON_DEMAND match.
 * @param {string} manifestPath
 * @returns {Map<string, string[]>}
 */
function labels(manifestPath) {
	/** @type {Map<string, string[]>} */
	const byUrl = new Map();
	if (!fs.existsSync(manifestPath)) return byUrl;
	/** @type {Record<string, { file: string, src?: string, name?: string }>} */
	const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
	for (const [key, entry] of Object.entries(manifest)) {
		const url = `/${entry.file}`;
		const name = entry.src ?? (key.startsWith('_') ? '' : key);
		if (!name) continue;
		byUrl.set(url, [...(byUrl.get(url) ?? []), name]);
	}
	return byUrl;
}

/**
 * @param {{ buildDir?: string, manifestPath?: string }} [options]
 * @returns {Promise<{ firstLoad: Measure, beforeCall: Measure, warmUp: Measure, routeNode: string, onDemand: string[], warmStarts: string[] }>}
 */
export async function measure(options = {}) {
	const buildDir = options.buildDir ?? path.join(root, 'build');
	const manifestPath =
		options.manifestPath ?? path.join(root, '.svelte-kit', 'output', 'client', '.vite', 'manifest.json');
	await init;
	const names = labels(manifestPath);
	const html = fs.readFileSync(path.join(buildDir, 'index.html'), 'utf8');

	/** @type {Map<string, { static: string[], dynamic: string[] }>} */
	const graph = new Map();
	/** @param {string} url */
	const importsOf = (url) => {
		let entry = graph.get(url);
		if (entry) return entry;
		const file = fileOf(buildDir, url);
		if (!fs.existsSync(file)) throw new Error(`${url} is referenced but missing from the build`);
		const [imports] = parse(fs.readFileSync(file, 'utf8'));
		entry = { static: [], dynamic: [] };
		for (const imp of imports) {
			// t 1: static import/export-from; t 2: dynamic import() with a literal specifier.
			if (!imp.n || !/\.js$/.test(imp.n)) continue;
			(imp.t === 2 ? entry.dynamic : entry.static).push(resolveUrl(url, imp.n));
		}
		graph.set(url, entry);
		return entry;
	};

	/** @param {Iterable<string>} starts @param {(url: string) => boolean} followDynamic */
	const closure = (starts, followDynamic) => {
		const seen = new Set();
		const queue = [...starts];
		while (queue.length) {
			const url = /** @type {string} */ (queue.shift());
			if (seen.has(url)) continue;
			seen.add(url);
			const { static: statics, dynamic } = importsOf(url);
			queue.push(...statics);
			if (followDynamic(url)) queue.push(...dynamic.filter((d) => !isOnDemand(d) && !isWarmUp(d)));
		}
		return seen;
	};
	/** @param {string} url @param {{ module: RegExp }[]} list */
	const listed = (url, list) => (names.get(url) ?? []).some((n) => list.some((o) => o.module.test(n)));
	/** @param {string} url */
	const isOnDemand = (url) => listed(url, ON_DEMAND);
	/** @param {string} url */
	const isWarmUp = (url) => listed(url, WARM_UP);

	// What index.html loads by itself.
	const entries = new Set();
	for (const tag of html.match(/<link\b[^>]*>/g) ?? []) {
		if (/rel=["']?modulepreload/.test(tag)) entries.add(/href=["']?([^"'\s>]+)/.exec(tag)?.[1]);
	}
	for (const tag of html.match(/<script\b[^>]*\bsrc=[^>]*>/g) ?? []) {
		if (/type=["']?module/.test(tag)) entries.add(/src=["']?([^"'\s>]+)/.exec(tag)?.[1]);
	}
	for (const [, body] of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
		const [imports] = parse(body);
		for (const imp of imports) if (imp.n) entries.add(resolveUrl('/index.html', imp.n));
	}
	entries.delete(undefined);
	const jsEntries = [...entries].filter((u) => /\.js$/.test(u));
	if (!jsEntries.length) throw new Error('build/index.html loads no JavaScript: is this a SvelteKit build?');
	const first = closure(jsEntries, () => false);

	// The route node for `/`: SvelteKit's client manifest maps "/" to its page node index; the
	// router imports that node as soon as it starts.
	const appEntry = jsEntries.find((u) => /\/entry\/app\.[^/]+\.js$/.test(u));
	if (!appEntry) throw new Error('no SvelteKit app entry (…/entry/app.*.js) in index.html');
	const appSource = fs.readFileSync(fileOf(buildDir, appEntry), 'utf8');
	const leaf = /"\/":\[~?-?(\d+)/.exec(appSource);
	if (!leaf) throw new Error('no route "/" in the app entry');
	/** @param {string} index */
	const node = (index) => {
		const url = importsOf(appEntry).dynamic.find((u) => new RegExp(`/nodes/${index}\\.[^/]+\\.js$`).test(u));
		if (!url) throw new Error(`no node ${index} imported by the app entry`);
		return url;
	};
	const routeNode = node(leaf[1]);

	// Before a call: follow dynamic imports everywhere except from the router entry itself
	// (it can import every route; only `/` is on screen). Nodes 0 and 1 are the root layout
	// and root error page, which SvelteKit's client imports eagerly at start.
	const before = closure([...first, node('0'), node('1'), routeNode], (url) => url !== appEntry);

	/** @param {Set<string>} set @returns {Measure} */
	const sum = (set) => {
		const parts = [...set].map((url) => {
			const data = fs.readFileSync(fileOf(buildDir, url));
			return {
				url,
				bytes: data.length,
				gzip: zlib.gzipSync(data).length,
				brotli: zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
				label: (names.get(url) ?? []).join(', ')
			};
		});
		parts.sort((a, b) => b.gzip - a.gzip);
		return {
			parts,
			gzip: parts.reduce((n, p) => n + p.gzip, 0),
			brotli: parts.reduce((n, p) => n + p.brotli, 0),
			bytes: parts.reduce((n, p) => n + p.bytes, 0)
		};
	};
	const targets = [...new Set([...graph.values()].flatMap((e) => e.dynamic))];
	const onDemand = targets.filter(isOnDemand);
	// Warm-up: those modules and what they import, less what was loaded before.
	const warmStarts = targets.filter(isWarmUp);
	const warm = new Set([...closure(warmStarts, () => true)].filter((u) => !before.has(u)));
	return { firstLoad: sum(first), beforeCall: sum(before), warmUp: sum(warm), routeNode, onDemand, warmStarts };
}

/** @param {number} n */
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

async function main() {
	const result = await measure();
	const firstSet = new Set(result.firstLoad.parts.map((p) => p.url));
	/** @param {Part} p */
	const row = (p) => `    ${kb(p.brotli).padStart(8)} br ${kb(p.gzip).padStart(8)} gz  ${p.url}${p.label ? `  (${p.label})` : ''}`;
	console.log('First load of / (index.html and static imports):');
	for (const p of result.firstLoad.parts) console.log(row(p));
	console.log('Added before a call starts:');
	for (const p of result.beforeCall.parts.filter((p) => !firstSet.has(p.url))) console.log(row(p));
	console.log('Warm-up, once ready and idle (not counted before the call):');
	for (const p of result.warmUp.parts) console.log(row(p));
	if (result.onDemand.length) console.log(`Not counted (on a tap, or when a call starts): ${result.onDemand.join(', ')}`);
	console.log('');
	let over = false;
	for (const [name, m, budget] of /** @type {const} */ ([
		['first load', result.firstLoad, BUDGETS.firstLoad],
		['before call', result.beforeCall, BUDGETS.beforeCall]
	])) {
		over ||= m.brotli > BUDGETS.limit;
		const verdict = m.brotli > BUDGETS.limit ? 'OVER BUDGET' : m.brotli <= budget ? 'within the goal' : 'over the goal';
		console.log(
			`${name.padEnd(12)} ${kb(m.brotli).padStart(8)} brotli, ${kb(m.gzip)} gzip (${kb(m.bytes)} raw, ${m.parts.length} files)  goal ${kb(budget)}, budget ${kb(BUDGETS.limit)}: ${verdict}`
		);
	}
	const w = result.warmUp;
	console.log(`${'warm-up'.padEnd(12)} ${kb(w.brotli).padStart(8)} brotli, ${kb(w.gzip)} gzip (${kb(w.bytes)} raw, ${w.parts.length} files)  after the camera and the ID`);
	if (over) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	main().catch((err) => {
		console.error(err);
		process.exitCode = 2;
	});
}
