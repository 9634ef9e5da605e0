/**
 * Installs the extra Node versions the tests run on (the engines floor, latest 22 and latest 24) into
 * .cache/, once, before any test starts: a test that needs one only looks it up. Prints each path.
 */
import { nodeBinaries } from '../tests/runtimes/host/node-versions.js';

for (const node of await nodeBinaries()) {
  process.stdout.write(`   node${node.label || ' (this machine)'}: ${node.path} — ${node.role}\n`);
}
