import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';

/**
 * `rag mcp`: an MCP server on standard input and output for desktop agents that only speak stdio. It relays
 * every message to the gateway's /mcp with the user's key, so the tools, and every permission check, are
 * the gateway's own.
 */
export function registerMcpCommand(program: Command, context: CommandContext): void {
  program
    .command('mcp')
    .description("Serve the gateway's MCP tools over stdio (for agents that start a local command)")
    .action(async (_options: unknown, command: Command) => {
      const { url, key } = context.gateway(command);
      await relay(new URL(`${url.replace(/\/+$/, '')}/mcp`), key, context);
    });
}

async function relay(endpoint: URL, key: string, context: CommandContext): Promise<void> {
  const upstream = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const local = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    local.onclose = () => {
      void upstream.close();
      resolve();
    };
  });
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = (error) => context.io.stderr.write(`rag mcp: ${error.message}\n`);
  local.onmessage = (message: JSONRPCMessage) => {
    upstream.send(message).catch((error: Error) => {
      // The agent waits for an answer to every request: a gateway that could not be reached gets one too.
      if (isJSONRPCRequest(message)) {
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: -32000,
            message: `The gateway at ${endpoint.origin} did not answer: ${error.message}`,
          },
        });
      }
    });
  };
  await upstream.start();
  await local.start();
  await closed;
}
