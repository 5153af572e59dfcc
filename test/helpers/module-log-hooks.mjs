// The loader hook of module-log.mjs (it runs on the loader's own thread).
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (process.env.COFFER_TEST_MODULE_LOG) appendFileSync(process.env.COFFER_TEST_MODULE_LOG, `${url}\n`);
  return nextLoad(url, context);
}
