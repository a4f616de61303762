import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [
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
