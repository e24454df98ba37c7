// Starts a private stack (Milvus Lite, a fresh PostgreSQL schema, the four services on free ports, the tiny
// generated model) for the Python client's tests, prints {"url", "admin_key"} as one JSON line, and stops it
// all when its standard input closes (the test session ended, or died).
import { startPrivateStack } from '../../../bench/private-stack.mjs';

const stack = await startPrivateStack({ namePrefix: 'pyclient', storageRoot: true });
process.stdout.write(`${JSON.stringify({ url: stack.gatewayUrl, admin_key: stack.adminKey })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await stack.stop();
  process.exit(0);
});
