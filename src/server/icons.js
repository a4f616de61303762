// Renders the app icons from one SVG drawing with headless Chromium (no image toolchain needed):
// `node src/server/icons.js`. The outputs are checked in under static/; rerun after changing the art.
//   favicon.svg               the drawing itself (browser tab)
//   icons/icon-{192,512}.png  "any": rounded tile, transparent corners
//   icons/maskable-{192,512}.png  full-bleed tile, glyph inside the 80 % safe circle
//   icons/apple-touch-icon.png    180 px, opaque (iOS fills transparency with black)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'static');

/** The glyph on a 512 grid: a camera with a green "online" light. */
const glyph = `
	<path d="M200 132h112l22 36h50a40 40 0 0 1 40 40v152a40 40 0 0 1-40 40H128a40 40 0 0 1-40-40V208a40 40 0 0 1 40-40h50z" fill="#4f8cff"/>
	<circle cx="256" cy="284" r="78" fill="#0b1220"/>
	<circle cx="256" cy="284" r="50" fill="#eef2fb"/>
	<circle cx="256" cy="284" r="22" fill="#0b1220"/>
	<circle cx="372" cy="214" r="14" fill="#30a46c"/>`;

/** @param {{ tile: 'rounded' | 'full', scale: number }} o */
function svg({ tile, scale }) {
	const bg =
		tile === 'rounded'
			? '<rect width="512" height="512" rx="112" fill="#0b1220"/>'
			: '<rect width="512" height="512" fill="#0b1220"/>';
	const t = (256 * (1 - scale)).toFixed(1);
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${bg}<g transform="translate(${t} ${t}) scale(${scale})">${glyph}</g></svg>`;
}

const any = svg({ tile: 'rounded', scale: 1 });
// The maskable safe zone is a circle of radius 0.4 × size around the centre: scale the glyph in.
const maskable = svg({ tile: 'full', scale: 0.78 });
const apple = svg({ tile: 'full', scale: 0.86 });

const targets = [
	{ file: 'icons/icon-192.png', size: 192, svg: any },
	{ file: 'icons/icon-512.png', size: 512, svg: any },
	{ file: 'icons/maskable-192.png', size: 192, svg: maskable },
	{ file: 'icons/maskable-512.png', size: 512, svg: maskable },
	{ file: 'icons/apple-touch-icon.png', size: 180, svg: apple }
];

fs.mkdirSync(path.join(out, 'icons'), { recursive: true });
fs.writeFileSync(path.join(out, 'favicon.svg'), any + '\n');

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu']
});
try {
	for (const { file, size, svg: art } of targets) {
		const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
		const src = `data:image/svg+xml;base64,${Buffer.from(art).toString('base64')}`;
		await page.setContent(
			`<style>html,body{margin:0;background:transparent}</style><img src="${src}" width="${size}" height="${size}" style="display:block">`
		);
		await page.locator('img').evaluate((img) => /** @type {HTMLImageElement} */ (img).decode());
		await page.screenshot({ path: path.join(out, file), omitBackground: true });
		await page.close();
		console.log(`${file} ${size}×${size}`);
	}
} finally {
	await browser.close();
}
