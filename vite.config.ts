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
			manifest: false,
			kit: { adapterFallback: 'index.html', spa: true },
			workbox: {
				clientsClaim: true,
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
					name: 'browser',
					include: ['tests/browser/**/*.test.ts'],
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
