/**
 * The build step behind src/lib/inspector/docs.ts: the machines' `description` strings out of
 * the client's minified chunks (vite.config.ts runs it). Apart from docs.ts so /inspect, which
 * imports that, does not carry this.
 */

// A `description:` property whose value is one string literal, as the minifier writes an
// object literal's property: after `{` or `,`, before `,` or `}`. Template literals only
// without `${`. The trailing comma goes with it (`{a,}` is still a valid object literal).
const literal = String.raw`"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|` + '`' + String.raw`(?:[^` + '`' + String.raw`\\$]|\\.|\$(?!\{))*` + '`';
const descriptionProperty = new RegExp(String.raw`(?<=[{,])description:(?:${literal})(?:,|(?=\}))`, 'g');

/** Minified code without its `description: "…"` properties; anything else is left alone. */
export function stripDescriptions(code: string): string {
	return code.replace(descriptionProperty, '');
}
