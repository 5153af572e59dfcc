// Preloaded with `node --import`: every module loaded through the ESM loader (ours, and each
// package's entry, CommonJS ones included) is appended to the file named by COFFER_TEST_MODULE_LOG.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url);
