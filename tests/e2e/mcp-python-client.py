"""The official Python MCP client against the gateway's /mcp: lists the tools and searches two collections.

Usage: mcp-python-client.py URL KEY ALLOWED_COLLECTION OTHER_COLLECTION QUERY; prints one JSON object.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def main(url: str, key: str, allowed: str, other: str, query: str) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with streamable_http_client(url, http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            found = await session.call_tool("search", {"collection": allowed, "query": query, "top_k": 3})
            refused = await session.call_tool("search", {"collection": other, "query": query})
            print(
                json.dumps(
                    {
                        "tools": tools,
                        "found": {
                            "is_error": bool(found.is_error),
                            "structured": found.structured_content,
                            "text": found.content[0].text if found.content else "",
                        },
                        "refused": {
                            "is_error": bool(refused.is_error),
                            "text": refused.content[0].text if refused.content else "",
                        },
                    }
                )
            )


asyncio.run(main(*sys.argv[1:6]))
