import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const machineFile = /[\\/]machines[\\/][^\\/]+\.machine\.ts$/;

/**
 * The machines' `description` strings stay out of what phones download and come to /inspect
 * as `virtual:machine-docs` (src/lib/inspector/docs.ts says why). The docs are read from the
 * machine definitions themselves, imported here under Node (tsx), as the chart reads them.
 */
function machineDocs(): Plugin {
	const id = 'virtual:machine-docs';
	// Imported under Node with tsx (a static import of a .ts file here needs an extension
	// that svelte-check refuses).
	const from = pathToFileURL(path.resolve(import.meta.dirname, 'package.json')).href;
	const load = async (file: string) => (await import('tsx/esm/api')).tsImport(file, from);
	return {
		name: 'camcall:machine-docs',
		resolveId: (source) => (source === id ? `\0${id}` : null),
		async load(resolved) {
			if (resolved !== `\0${id}`) return null;
			const model = await load('./src/lib/inspector/model.ts');
			const { docsOf } = await load('./src/lib/inspector/docs.ts');
			const [session, call, photo, safety, chat] = await Promise.all(
				['session', 'call', 'photo', 'safety', 'chat'].map((name) => load(`./machines/${name}.machine.ts`))
			);
			const machines = model.collectMachines(session.sessionMachine, call.callMachine, photo.photoMachine, safety.safetyMachine, chat.chatMachine);
			return `export default ${JSON.stringify(docsOf(machines.map(model.chartModel)))};`;
		},
		async generateBundle(_options, bundle) {
			// The client's chunks, once minified; the server build keeps its descriptions.
			if (this.environment?.name !== 'client') return;
			const { stripDescriptions } = await load('./src/lib/inspector/strip-docs.ts');
			for (const file of Object.values(bundle)) {
				if (file.type === 'chunk' && file.moduleIds.some((m) => machineFile.test(m))) file.code = stripDescriptions(file.code);
			}
		}
	};
}

export default defineConfig({
	plugins: [
		machineDocs(),
		sveltekit(),
		SvelteKitPWA({
			// workbox-window registers the worker ourselves (src/lib/pwa.ts) in production only,
			// so the update prompt is ours: a new version waits until the user taps "update".
			injectRegister: false,
			registerType: 'prompt',
			strategies: 'generateSW',
			// Linked from src/app.html (DESIGN.md: in the HTML before any script runs).
			manifest: {
				id: '/',
				name: 'CamCall',
				short_name: 'CamCall',
				description: 'Peer-to-peer camera calls with a live state chart of everything the app does.',
				lang: 'en',
				display: 'standalone',
				orientation: 'portrait',
				start_url: '/',
				scope: '/',
				theme_color: '#0b1220',
				background_color: '#0b1220',
				categories: ['social', 'photo'],
				// Rendered from one drawing by src/server/icons.js.
				icons: [
					{ src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
					{ src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
					{ src: '/icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
					{ src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' }
				]
			},
			kit: { adapterFallback: 'index.html', spa: true },
			workbox: {
				clientsClaim: true,
				// The notification tap handler (static/sw-notify.js) for incoming calls.
				importScripts: ['/sw-notify.js'],
				globPatterns: ['**/*.{js,css,html,svg,png,webmanifest,json}'],
				globIgnores: ['signaling.json'],
				navigateFallback: '/index.html',
				navigateFallbackDenylist: [/^\/peerjs/, /^\/signaling\.json/, /^\/ca\.crt/]
			}
		})
	],
	test: {
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['tests/unit/**/*.test.ts'],
					environment: 'node'
				}
			},
			{
				extends: true,
				test: {
					name: 'server',
					include: ['tests/server/**/*.test.ts'],
					environment: 'node',
					// Real servers (some as child processes) on loopback: one file at a time.
					fileParallelism: false,
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			},
			{
				extends: true,
				test: {
					name: 'browser',
					include: ['tests/browser/**/*.test.ts'],
					setupFiles: ['tests/browser/setup.ts'],
					environment: 'node',
					// Real Chromium processes and a real PeerServer per file: run files one at a
					// time on this 2-core machine.
					fileParallelism: false,
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			}
		]
	}
});
