// Modules the build makes (vite.config.ts).
declare module 'virtual:machine-docs' {
	/** The machines' descriptions for /inspect (src/lib/inspector/docs.ts). */
	const docs: import('$lib/inspector/docs').MachineDocs;
	export default docs;
}
