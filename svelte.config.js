import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: every route is a prerendered shell, the session actor lives in the
		// root layout so moving between /, /inspect and /gallery keeps the camera and call alive.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		// Absolute asset paths: offline deep links served from the service worker's precache
		// render blank with relative paths (FACTS.md).
		paths: { relative: false },
		alias: { $machines: 'machines' },
		typescript: {
			// SvelteKit's generated tsconfig only covers src/ and tests/.
			config(tsconfig) {
				tsconfig.include.push('../machines/**/*.ts');
				return tsconfig;
			}
		}
	}
};

export default config;
