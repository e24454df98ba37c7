import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Principal } from '@rag/auth/principal';
import { roleRank } from '@rag/auth/principal';
import type { Request, RequestHandler } from 'express';
import { principalOf } from '../principal-middleware.js';
import { type McpTool, mcpTools, type RouteCall } from './mcp-tools.js';

/** An answer of a public route, as any client would get it. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** Sends a route call down the gateway's own Express stack, as the MCP request's principal and from its address. */
export type RouteDispatcher = (call: RouteCall, from: Request) => Promise<RouteAnswer>;

const serverInfo = { name: 'rag-system', version: '1' };
// A server is made per request (stateless), and each would otherwise build its own Ajv instance, a large
// share of what an MCP call costs; one instance serves them all (it only checks elicitation answers, which
// this server never asks for).
const serverOptions = { capabilities: { tools: {} }, jsonSchemaValidator: new AjvJsonSchemaValidator() };

/**
 * MCP over Streamable HTTP at /mcp, stateless (any gateway replica answers any request). Every tool is a call
 * of a public route made down the gateway's own stack as the caller's principal, so rate limits, the route
 * table's role, collection scope, document ACLs and audit apply exactly as they do to REST: there is no
 * second permission path. A credential is offered only the tools whose route its role allows.
 */
export function mcpEndpoint(dispatch: RouteDispatcher): RequestHandler {
  return async (req, res) => {
    const principal = principalOf(req);
    const server = new McpServer(serverInfo, serverOptions);
    for (const tool of mcpTools.filter((t) => allows(principal, t))) {
      server.registerTool(
        tool.name,
        { description: tool.description, inputSchema: tool.input, outputSchema: tool.output },
        (args: Record<string, unknown>) => runTool(tool, args, req, dispatch),
      );
    }
    // No session id generator: stateless mode. JSON answers rather than an event stream: tools answer at once.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

function allows(principal: Principal, tool: McpTool): boolean {
  const role = tool.route.role;
  if (role === 'bootstrap admin') return principal.system;
  return roleRank[principal.role] >= roleRank[role];
}

async function runTool(
  tool: McpTool,
  args: Record<string, unknown>,
  req: Request,
  dispatch: RouteDispatcher,
): Promise<CallToolResult> {
  const answer = await dispatch(tool.call(args), req);
  const more = answer.status === 200 && tool.also ? await dispatch(tool.also.call(args), req) : undefined;
  if (more && more.status !== 200)
    return { content: [{ type: 'text', text: problemText(more) }], isError: true };
  if (answer.status >= 200 && answer.status < 300) {
    const first = answer.body as Record<string, unknown>;
    const body = more && tool.also ? tool.also.merge(first, more.body as Record<string, unknown>) : first;
    return {
      content: [{ type: 'text', text: tool.text(body) }],
      structuredContent: tool.structured ? tool.structured(body) : body,
    };
  }
  let message = problemText(answer);
  // A collection the credential cannot see (or that does not exist): say which ones it can, so an agent
  // corrects itself instead of searching something else.
  if (answer.status === 404 && typeof args.collection === 'string') {
    const visible = await dispatch({ method: 'GET', path: '/v1/collections' }, req);
    const names = (visible.body as { collections?: Array<{ name: string }> }).collections?.map((c) => c.name);
    if (names) message += `. Collections this credential can use: ${names.join(', ') || 'none'}`;
  }
  return { content: [{ type: 'text', text: message }], isError: true };
}

function problemText(answer: RouteAnswer): string {
  const problem = answer.body as {
    detail?: string;
    code?: string;
    errors?: Array<{ path: string; message: string }>;
  };
  const fields = problem.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
  return `${problem.code ?? `http_${answer.status}`}: ${problem.detail ?? 'request failed'}${fields ? ` (${fields})` : ''}`;
}
