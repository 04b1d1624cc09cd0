#!/usr/bin/env python3
"""A small MCP server (stdio, protocol 2025-11-25) for glm-agent's MCP client tests. Standard library only.

Tools: echo, add, fail (isError), structured, image, env (lists its environment), slow (sleeps), crash (exits),
bigline (a line over any sane cap), garbage (malformed JSON), wrongid (answers another id first),
plus filler_0..filler_4 so that tools/list needs several pages (2 tools per page).
FAKE_MCP_VERSION overrides the protocol version it answers with.

With --http it serves the streamable HTTP transport instead, on 127.0.0.1 (it prints "PORT n" first; it exits
when its stdin closes): POST /mcp with sessions (Mcp-Session-Id; 404 for an unknown one), JSON replies, an SSE
reply for echo (a log notification first), 202 for notifications, DELETE /mcp ending a session, and GET /stats
({"initializes", "deletes", "protocol_errors"}). Extra tools: expire (forgets every session), whoami (whether
Authorization is "Bearer test-token"), http500, notjson.
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


HTTP_TOOLS = TOOLS + [{"name": n, "inputSchema": OBJ} for n in ("expire", "whoami", "http500", "notjson")]


def serve_http():
    import http.server
    import threading
    import uuid

    sessions = {}
    stats = {"initializes": 0, "deletes": 0, "protocol_errors": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # head and body in separate writes would otherwise meet delayed ACKs

        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", ctype=None, headers=()):
            self.send_response(code)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def json_reply(self, msg, headers=()):
            self.reply(200, json.dumps(msg).encode(), "application/json", headers)

        def do_GET(self):
            if self.path == "/stats":
                with lock:
                    return self.json_reply(dict(stats))
            self.reply(405)

        def do_DELETE(self):
            sid = self.headers.get("Mcp-Session-Id")
            with lock:
                existed = sessions.pop(sid, None) is not None
                stats["deletes"] += 1 if existed else 0
            self.reply(200 if existed else 404)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/mcp":
                return self.reply(404)
            accept = self.headers.get("Accept", "")
            if "application/json" not in accept or "text/event-stream" not in accept:
                return self.reply(406, b"Accept must list application/json and text/event-stream")
            msg = json.loads(body)
            method, mid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
            if method == "initialize":
                sid = uuid.uuid4().hex
                with lock:
                    sessions[sid] = False
                    stats["initializes"] += 1
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": {
                    "protocolVersion": VERSION, "capabilities": {"tools": {}}, "serverInfo": {"name": "fake-http", "version": "1"}}},
                    [("Mcp-Session-Id", sid)])
            sid = self.headers.get("Mcp-Session-Id")
            if sid is None:
                return self.reply(400, b"missing Mcp-Session-Id")
            with lock:
                known = sid in sessions
                initialized = sessions.get(sid, False)
            if not known:
                return self.reply(404, b"unknown session")
            if self.headers.get("MCP-Protocol-Version") != VERSION:
                with lock:
                    stats["protocol_errors"] += 1
                return self.reply(400, b"bad MCP-Protocol-Version")
            if method == "notifications/initialized":
                with lock:
                    sessions[sid] = True
                return self.reply(202)
            if mid is None:
                return self.reply(202)
            if not initialized:
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "error": {"code": -32600, "message": "not initialized"}})
            if method == "tools/list":
                start = int(params.get("cursor", "0"))
                result = {"tools": HTTP_TOOLS[start:start + PAGE]}
                if start + PAGE < len(HTTP_TOOLS):
                    result["nextCursor"] = str(start + PAGE)
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": result})
            name, args = params.get("name"), params.get("arguments") or {}
            if name == "echo":  # an SSE stream: a notification, then the response
                events = [{"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "echoing"}},
                          {"jsonrpc": "2.0", "id": mid, "result": text(args.get("text", ""))}]
                out = "".join("event: message\ndata: %s\n\n" % json.dumps(e) for e in events)
                return self.reply(200, out.encode(), "text/event-stream")
            if name == "add":
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": text(str(args.get("a", 0) + args.get("b", 0)))})
            if name == "fail":
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "it broke"}], "isError": True}})
            if name == "structured":
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": {"content": [], "structuredContent": {"x": 1}}})
            if name == "slow":
                time.sleep(float(args.get("seconds", 5)))
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": text("done")})
            if name == "expire":
                with lock:
                    sessions.clear()
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": text("expired")})
            if name == "whoami":
                ok = self.headers.get("Authorization") == "Bearer test-token"
                return self.json_reply({"jsonrpc": "2.0", "id": mid, "result": {"content": [], "structuredContent": {"authorized": ok}}})
            if name == "http500":
                return self.reply(500, b"internal trouble", "text/plain")
            if name == "notjson":
                return self.reply(200, b"this is not json", "application/json")
            return self.json_reply({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "Unknown tool: %s" % name}})

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 256  # the default backlog of 5 drops concurrent connections (1 s SYN retries)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    sys.stdin.read()  # the test closes our stdin (or dies): stop
    os._exit(0)


if __name__ == "__main__":
    if "--http" in sys.argv:
        serve_http()
    else:
        main()
