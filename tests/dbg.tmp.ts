import { launch, startServer, waitForState, instrumentWebRtc, textOf } from './browser/harness';
let server = await startServer();
const port = server.port;
const browser = await launch();
async function open() {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } }); await ctx.addInitScript(instrumentWebRtc);
  const p = await ctx.newPage();
  await p.goto(server.url); await waitForState(p, 'signaling', 'open'); await waitForState(p, 'capture', 'live'); return p;
}
const a = await open(); const b = await open();
await a.getByTestId('dial-input').fill((await b.getByTestId('peer-id').textContent())!.trim());
await a.getByTestId('dial').click(); await waitForState(b, 'call', 'ringing'); await b.getByTestId('accept').click();
await waitForState(a, 'call', 'connected');
await server.close();
await a.waitForTimeout(1500);
server = await startServer({ port });
await waitForState(a, 'signaling', 'open', 10000);
await a.getByTestId('hangup').click();
await waitForState(b, 'call', 'ended', 5000);
await a.waitForTimeout(500);
console.log(await a.locator('[data-testid=app]').evaluate((e: HTMLElement) => JSON.stringify({ ...e.dataset })), await a.getByTestId('peer-id').count());
await a.screenshot({ path: '/tmp/d2.png' });
await browser.close(); await server.close();
