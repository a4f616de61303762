// Brotli and gzip beside every text file of the build, made once at build time at the highest
// settings (too slow per request, free once): `npm run build` runs it after `vite build`, and
// `npm start` runs it when a build lacks them. The server (static.js) picks one per request.
//
//   node src/server/precompress.js [buildDir]     default: build/
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** Extensions worth compressing: text. Images (png) are compressed already. */
export const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt', '.map', '.xml', '.ico']);

/** @type {Record<'br' | 'gzip', string>} file suffix of each encoding */
export const SUFFIX = { br: '.br', gzip: '.gz' };

/** @param {string} file */
export function isCompressible(file) {
	return COMPRESSIBLE.has(path.extname(file).toLowerCase());
}

/** @param {Buffer} data */
export function brotli(data) {
	return zlib.brotliCompressSync(data, {
		params: {
			[zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
			[zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
			[zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length
		}
	});
}

/** @param {Buffer} data */
export function gzip(data) {
	return zlib.gzipSync(data, { level: 9 });
}

/**
 * Every file under `dir`, as paths relative to it with `/` separators; dotfiles and the
 * compressed variants left out.
 * @param {string} dir
 * @returns {string[]}
 */
export function listFiles(dir) {
	/** @type {string[]} */
	const out = [];
	/** @param {string} rel */
	const walk = (rel) => {
		for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
			if (entry.name.startsWith('.')) continue;
			const child = rel ? `${rel}/${entry.name}` : entry.name;
			if (entry.isDirectory()) walk(child);
			else if (entry.isFile() && !isVariant(child)) out.push(child);
		}
	};
	walk('');
	return out.sort();
}

/** @param {string} file */
function isVariant(file) {
	return Object.values(SUFFIX).some((suffix) => file.endsWith(suffix) && isCompressible(file.slice(0, -suffix.length)));
}

/**
 * True when some text file of the build has no up-to-date variant (a plain `vite build`).
 * @param {string} dir
 */
export function needsPrecompress(dir) {
	return listFiles(dir).some((file) => isCompressible(file) && !fresh(path.join(dir, file)));
}

/** Both variants exist and are not older than the file. @param {string} abs */
function fresh(abs) {
	const mtime = fs.statSync(abs).mtimeMs;
	return Object.values(SUFFIX).every((suffix) => fs.existsSync(abs + suffix) && fs.statSync(abs + suffix).mtimeMs >= mtime);
}

/**
 * Writes `<file>.br` (quality 11) and `<file>.gz` (level 9) beside each text file of `dir`,
 * even where one is not smaller (a tiny JSON file): the server skips such a variant.
 * @param {string} dir
 * @returns {{ files: number, bytes: number, br: number, gzip: number }} totals over the text files
 */
export function precompress(dir) {
	const totals = { files: 0, bytes: 0, br: 0, gzip: 0 };
	for (const file of listFiles(dir)) {
		if (!isCompressible(file)) continue;
		const abs = path.join(dir, file);
		const data = fs.readFileSync(abs);
		const br = brotli(data);
		const gz = gzip(data);
		fs.writeFileSync(abs + SUFFIX.br, br);
		fs.writeFileSync(abs + SUFFIX.gzip, gz);
		totals.files += 1;
		totals.bytes += data.length;
		totals.br += br.length;
		totals.gzip += gz.length;
	}
	return totals;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
	const dir = path.resolve(process.argv[2] ?? path.join(root, 'build'));
	const kb = (/** @type {number} */ n) => `${(n / 1000).toFixed(1)} KB`;
	const t = precompress(dir);
	console.log(`precompress: ${t.files} text files, ${kb(t.bytes)} → brotli ${kb(t.br)}, gzip ${kb(t.gzip)}`);
}
