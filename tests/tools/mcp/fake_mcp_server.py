#!/usr/bin/env python3
"""A small MCP server (stdio, protocol 2025-11-25) for glm-agent's MCP client tests. Standard library only.

Tools: echo, add, fail (isError), structured, image, env (lists its environment), slow (sleeps), crash (exits),
bigline (a line over any sane cap), garbage (malformed JSON), wrongid (answers another id first),
plus filler_0..filler_4 so that tools/list needs several pages (2 tools per page).
FAKE_MCP_VERSION overrides the protocol version it answers with.
"""
import json
import os
import sys
import time

VERSION = os.environ.get("FAKE_MCP_VERSION", "2025-11-25")
OBJ = {"type": "object"}
TOOLS = [
    {"name": "echo", "description": "Echo text", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Add", "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
    {"name": "fail", "inputSchema": OBJ},
    {"name": "structured", "inputSchema": OBJ},
    {"name": "image", "inputSchema": OBJ},
    {"name": "env", "inputSchema": OBJ},
    {"name": "slow", "inputSchema": OBJ},
    {"name": "crash", "inputSchema": OBJ},
    {"name": "bigline", "inputSchema": OBJ},
    {"name": "garbage", "inputSchema": OBJ},
    {"name": "wrongid", "inputSchema": OBJ},
] + [{"name": "filler_%d" % i, "inputSchema": OBJ} for i in range(5)] + [{"name": "x" * 70, "inputSchema": OBJ}]
PAGE = 2


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def text(s):
    return {"content": [{"type": "text", "text": s}], "isError": False}


def main():
    sys.stderr.write("fake mcp server starting\n")
    sys.stderr.flush()
    initialized = False
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        method, mid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": VERSION, "capabilities": {"tools": {}},
                                                         "serverInfo": {"name": "fake", "version": "1"}}})
            continue
        if method == "notifications/initialized":
            initialized = True
            continue
        if mid is None:
            continue  # other notifications (cancelled, ...)
        if not initialized:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32600, "message": "not initialized"}})
            continue
        if method == "tools/list":
            start = int(params.get("cursor", "0"))
            result = {"tools": TOOLS[start:start + PAGE]}
            if start + PAGE < len(TOOLS):
                result["nextCursor"] = str(start + PAGE)
            send({"jsonrpc": "2.0", "id": mid, "result": result})
            continue
        if method != "tools/call":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "unknown method"}})
            continue
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "echo":
            send({"jsonrpc": "2.0", "id": mid, "result": text(args.get("text", ""))})
        elif name == "add":
            send({"jsonrpc": "2.0", "id": mid, "result": text(str(args.get("a", 0) + args.get("b", 0)))})
        elif name == "fail":
            send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "it broke"}], "isError": True}})
        elif name == "structured":
            send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "{\"x\": 1}"}],
                                                         "structuredContent": {"x": 1}}})
        elif name == "image":
            send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "a picture"},
                                                                      {"type": "image", "data": "AAAA" * 100, "mimeType": "image/png"}]}})
        elif name == "env":
            send({"jsonrpc": "2.0", "id": mid, "result": {"content": [], "structuredContent": {"env": sorted(os.environ.keys())}}})
        elif name == "slow":
            time.sleep(float(args.get("seconds", 5)))
            send({"jsonrpc": "2.0", "id": mid, "result": text("done")})
        elif name == "crash":
            sys.stderr.write("crashing on purpose\n")
            sys.stderr.flush()
            os._exit(3)
        elif name == "bigline":
            sys.stdout.write('{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"%s"}]}}\n' % (mid, "y" * (8 << 20)))
            sys.stdout.flush()
        elif name == "garbage":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
        elif name == "wrongid":
            send({"jsonrpc": "2.0", "id": 999999, "result": text("wrong")})
            send({"jsonrpc": "2.0", "id": mid, "result": text("right")})
        elif name == "unknown_tool_probe":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "Unknown tool"}})
        else:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "Unknown tool: %s" % name}})
    sys.stderr.write("stdin closed, bye\n")


if __name__ == "__main__":
    main()
