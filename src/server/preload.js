// `npm run build` step (after `vite build`, before precompress.js): a first visit is ready to be
// called sooner when registration does not wait for round trips it could have made earlier.
// src/app.html already sends the `/signaling.json` request while the page parses; this writes,
// where app.html says `<!-- camcall:preload -->`, a modulepreload of the PeerJS chunk
// (machines/actors/peerjs.ts, its hashed name known only after the build), so it downloads
// beside the app's first load instead of after it. The service worker's precache revision of
// index.html is updated to match.
//
//   node src/server/preload.js [buildDir]     default: build/
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARKER = '<!-- camcall:preload -->';
const MODULE = 'machines/actors/peerjs.ts';

/**
 * @param {string} buildDir
 * @param {string} manifestPath  Vite's client manifest
 * @returns {string} the preloaded chunk's URL
 */
export function writePreload(buildDir, manifestPath) {
	/** @type {Record<string, { file: string, src?: string }>} */
	const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
	const entry = Object.values(manifest).find((e) => e.src === MODULE);
	if (!entry) throw new Error(`${MODULE} is not a chunk of this build (is it still loaded with import()?)`);
	const url = `/${entry.file}`;
	const htmlPath = path.join(buildDir, 'index.html');
	const html = fs.readFileSync(htmlPath, 'utf8');
	if (html.split(MARKER).length !== 2) throw new Error(`build/index.html must hold ${MARKER} exactly once (src/app.html)`);
	const written = html.replace(MARKER, `<link rel="modulepreload" href="${url}">`);
	fs.writeFileSync(htmlPath, written);

	// workbox's revision for a file is the MD5 of its bytes (generateSW ran before this step).
	const swPath = path.join(buildDir, 'sw.js');
	const sw = fs.readFileSync(swPath, 'utf8');
	const revision = /(\{url:"index\.html",revision:")([0-9a-f]{32})("\})/;
	if (!revision.test(sw)) throw new Error('sw.js precaches no index.html revision to update');
	const md5 = crypto.createHash('md5').update(written).digest('hex');
	fs.writeFileSync(swPath, sw.replace(revision, `$1${md5}$3`));
	return url;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const buildDir = path.resolve(process.argv[2] ?? path.join(root, 'build'));
	const url = writePreload(buildDir, path.join(root, '.svelte-kit', 'output', 'client', '.vite', 'manifest.json'));
	console.log(`preload: index.html fetches ${url} with its first load`);
}
